using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// The adapter slot of a Linear layer adapted by VeRA or NoLA (<see cref="LoraVariant"/>): per adapter name a
/// <see cref="VeraAdapter"/> or <see cref="NolaAdapter"/>; the active one adds its contribution in the forward pass,
/// merging folds its ΔW into W (W is copied first, and <see cref="Unmerge"/> writes that copy back bit for bit).
/// A layer holds either LoRA adapters or these, not both. The <c>Lora</c> facade drives it as an auxiliary slot.
/// </summary>
/// <remarks>Threads: one immutable snapshot per change, read once per pass (as <see cref="LoraLayer"/>).</remarks>
internal sealed class BasisSlot : ILayerAdapter, IAuxiliarySlot
{
    private sealed record State(Dictionary<string, IBasisAdapter> Adapters, string? Active, bool Merged, float[]? Saved);

    private readonly Lock _gate = new();
    private volatile State _state = new(new Dictionary<string, IBasisAdapter>(StringComparer.Ordinal), null, false, null);
    private volatile bool _disabled;

    /// <summary>Creates the slot for the Linear <paramref name="layer"/>.</summary>
    public BasisSlot(IAdaptableLayer layer, string layerName)
    {
        if (layer.Kind != LayerKind.Linear) throw new ArgumentException($"{layerName}: VeRA and NoLA adapt Linear layers only.");
        Layer = layer;
        LayerName = layerName;
    }

    /// <summary>The adapted layer.</summary>
    public IAdaptableLayer Layer { get; }

    /// <summary>The layer's path, for messages.</summary>
    public string LayerName { get; }

    /// <summary>The adapters by name.</summary>
    public IReadOnlyDictionary<string, IBasisAdapter> Adapters => _state.Adapters;

    /// <summary>The adapter that computes, or null.</summary>
    public string? Active => _state.Active;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Names => _state.Adapters.Keys;

    /// <inheritdoc/>
    public bool IsMerged => _state.Merged;

    /// <inheritdoc/>
    public bool Disabled { get => _disabled; set => _disabled = value; }

    /// <summary>Adds adapter <paramref name="name"/>; it becomes active if none is.</summary>
    public void Add(string name, IBasisAdapter adapter)
    {
        lock (_gate)
        {
            var s = _state;
            if (s.Adapters.ContainsKey(name)) throw new InvalidOperationException($"{LayerName}: an adapter named '{name}' already exists.");
            var adapters = new Dictionary<string, IBasisAdapter>(s.Adapters, StringComparer.Ordinal) { [name] = adapter };
            _state = s with { Adapters = adapters, Active = s.Active ?? name };
        }
    }

    /// <summary>
    /// Hot swap: adapter <paramref name="name"/> becomes <paramref name="adapter"/> (the same variant, rank and
    /// trainable shapes; another file's vectors, seed or projection), published in one snapshot: a pass in flight
    /// computes with the old adapter or the new one, never a mix. The new vectors are trainable as the old ones were.
    /// A merged adapter is refused (unmerge first).
    /// </summary>
    public void Replace(string name, IBasisAdapter adapter)
    {
        lock (_gate)
        {
            var s = _state;
            if (!s.Adapters.TryGetValue(name, out var old)) throw new KeyNotFoundException($"{LayerName}: no adapter named '{name}'.");
            if (s.Merged && s.Active == name) throw new InvalidOperationException($"{LayerName}: adapter '{name}' is merged; Unmerge() before swapping it.");
            if (old.Variant != adapter.Variant || old.Rank != adapter.Rank || old.Parameters.Count != adapter.Parameters.Count
                || old.Parameters.Zip(adapter.Parameters).Any(p => !p.First.Shape.SequenceEqual(p.Second.Shape)))
                throw new ArgumentException($"{LayerName}: a hot swap needs adapter '{name}''s variant, rank and shapes ({old.Variant}, r {old.Rank}: " +
                    $"{string.Join(", ", old.Parameters.Select(p => p.ShapeString))}), got {adapter.Variant}, r {adapter.Rank}: {string.Join(", ", adapter.Parameters.Select(p => p.ShapeString))}.");
            for (int i = 0; i < old.Parameters.Count; i++) adapter.Parameters[i].RequiresGrad = old.Parameters[i].RequiresGrad;
            var adapters = new Dictionary<string, IBasisAdapter>(s.Adapters, StringComparer.Ordinal) { [name] = adapter };
            _state = s with { Adapters = adapters };
        }
    }

    /// <inheritdoc/>
    public void SetActive(string? name)
    {
        lock (_gate)
        {
            if (_state.Merged) throw new InvalidOperationException("Unmerge before switching adapters.");
            _state = _state with { Active = name is not null && _state.Adapters.ContainsKey(name) ? name : null };
        }
    }

    /// <inheritdoc/>
    public void Remove(string name)
    {
        lock (_gate)
        {
            if (_state.Active == name && _state.Merged) Unmerge();
            var s = _state;
            var adapters = new Dictionary<string, IBasisAdapter>(s.Adapters, StringComparer.Ordinal);
            adapters.Remove(name);
            _state = s with { Adapters = adapters, Active = s.Active == name ? null : s.Active };
        }
    }

    /// <inheritdoc/>
    public void Merge(bool safe)
    {
        lock (_gate)
        {
            var s = _state;
            if (s.Merged || s.Active is null) return;
            var delta = s.Adapters[s.Active].Delta();
            var w = Layer.Weight;
            var saved = w.Data.ToArray();
            if (safe)
            {
                var candidate = saved.ToArray();
                ElementwiseOps.AddInPlace(candidate, delta);
                for (int i = 0; i < candidate.Length; i++)
                    if (!float.IsFinite(candidate[i]))
                        throw new LoraMergeException(LayerName, s.Active, $"merging would put {candidate[i]} at index {i} of the weight {w.ShapeString}; the weight was left unchanged.");
                candidate.CopyTo(w.Data);
            }
            else ElementwiseOps.AddInPlace(w.Data, delta);
            _state = s with { Merged = true, Saved = saved };
            string reason = $"{LayerName}: adapter '{s.Active}' is merged into this weight; Unmerge() before training.";
            w.StepLock = reason;
            foreach (var p in s.Adapters[s.Active].Parameters) p.StepLock = reason;
        }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        lock (_gate)
        {
            var s = _state;
            if (!s.Merged) return;
            s.Saved!.CopyTo(Layer.Weight.Data);
            _state = s with { Merged = false, Saved = null };
            Layer.Weight.StepLock = null;
            foreach (var ad in s.Adapters.Values)
                foreach (var p in ad.Parameters) p.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public void BaseWeightReplaced()
    {
        lock (_gate)
        {
            _state = _state with { Merged = false, Saved = null };
            Layer.Weight.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public IEnumerable<Tensor> ParametersOf(string name) =>
        _state.Adapters.TryGetValue(name, out var ad) ? ad.Parameters.Where(p => p.RequiresGrad) : [];

    /// <summary>The frozen random matrices of every adapter on the layer (a shared VeRA projection appears on each layer: callers count it once).</summary>
    public IEnumerable<Tensor> FrozenTensors() => _state.Adapters.Values.SelectMany(ad => ad.FrozenTensors);

    /// <inheritdoc/>
    public Tensor ForwardLinear(Tensor x, Tensor y, bool training)
    {
        var s = _state;   // one read
        if (_disabled || s.Merged || s.Active is null) return y;
        return y + s.Adapters[s.Active].Contribution(x, training);
    }

    /// <inheritdoc/>
    public Tensor ForwardEmbedding(int[] ids, int[] idsShape, Tensor y) =>
        throw new InvalidOperationException($"{LayerName}: VeRA and NoLA adapt Linear layers only.");

    /// <inheritdoc/>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (name, ad) in _state.Adapters)
            foreach (var p in ad.NamedParameters(name)) yield return p;
    }
}
