namespace LoraGen.Peft;

/// <summary>
/// A config value PEFT accepts either as one item or as a list, remembering which it was (they can mean different
/// things: a string <c>target_modules</c> is a regular expression, a list holds module names).
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class OneOrMany<T> : IEquatable<OneOrMany<T>>
{
    private readonly T[] _items;

    private OneOrMany(T[] items, bool isSingle)
    {
        _items = items;
        IsSingle = isSingle;
    }

    /// <summary>One item (a JSON scalar).</summary>
    public static OneOrMany<T> One(T item) => new([item], isSingle: true);

    /// <summary>A list (a JSON array), possibly empty.</summary>
    public static OneOrMany<T> Many(IEnumerable<T> items) => new(items.ToArray(), isSingle: false);

    /// <summary>A list (a JSON array), possibly empty.</summary>
    public static OneOrMany<T> Many(params T[] items) => new((T[])items.Clone(), isSingle: false);

    /// <summary>One item.</summary>
    public static implicit operator OneOrMany<T>(T item) => One(item);

    /// <summary>A list.</summary>
    public static implicit operator OneOrMany<T>(T[] items) => Many(items);

    /// <summary>True for one item, false for a list (even a list of one).</summary>
    public bool IsSingle { get; }

    /// <summary>The item of a single value; throws for a list.</summary>
    public T Single => IsSingle ? _items[0] : throw new InvalidOperationException("This value is a list, not a single item.");

    /// <summary>The items: the one item, or the list.</summary>
    public IReadOnlyList<T> Items => _items;

    /// <inheritdoc/>
    public bool Equals(OneOrMany<T>? other) =>
        other is not null && IsSingle == other.IsSingle && _items.AsSpan().SequenceEqual(other._items, EqualityComparer<T>.Default);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as OneOrMany<T>);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(IsSingle);
        foreach (var item in _items) h.Add(item);
        return h.ToHashCode();
    }

    /// <summary><c>item</c> or <c>[a, b]</c>.</summary>
    public override string ToString() => IsSingle ? $"{_items[0]}" : "[" + string.Join(", ", _items) + "]";
}
