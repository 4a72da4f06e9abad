namespace LoraGen.Nn;

/// <summary>An ordered list of modules whose children are named "0", "1", … (torch.nn.ModuleList).</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items;

    /// <summary>Creates the list.</summary>
    public ModuleList(IEnumerable<T> items) => _items = items.ToList();

    /// <summary>Creates the list.</summary>
    public ModuleList(params T[] items) => _items = [.. items];

    /// <inheritdoc />
    public T this[int index] => _items[index];

    /// <inheritdoc />
    public int Count => _items.Count;

    /// <summary>Appends a module.</summary>
    public void Add(T item) => _items.Add(item);

    /// <inheritdoc />
    public override IEnumerable<(string Name, Module Module)> Children()
    {
        for (int i = 0; i < _items.Count; i++) yield return (i.ToString(System.Globalization.CultureInfo.InvariantCulture), _items[i]);
    }

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
