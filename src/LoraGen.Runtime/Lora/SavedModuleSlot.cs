using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// PEFT's <c>modules_to_save</c> on a Linear or Embedding: a full trainable copy of the layer's weight (and bias) per
/// adapter. The active adapter's copy computes the output instead of the base weights; merging writes the copy into
/// the base (merge by replacement) and unmerging restores the base bit for bit. In a PEFT model the copy is named
/// <c>modules_to_save.ADAPTER.weight</c>; in an adapter file <c>base_model.model.PATH.weight</c>.
/// </summary>
/// <remarks>Threads: as <see cref="LoraLayer"/>, one immutable snapshot per change, read once per pass.</remarks>
public sealed class SavedModuleSlot : ILayerAdapter, IAuxiliarySlot
{
    /// <summary>One adapter's copy of the layer.</summary>
    /// <param name="Weight">Linear [out, in], Embedding [num_embeddings, dim].</param>
    /// <param name="Bias">Linear [out], or null.</param>
    public sealed record Copy(Tensor Weight, Tensor? Bias);

    private sealed record State(Dictionary<string, Copy> Copies, string? Active, bool Merged, float[]? SavedWeight, float[]? SavedBias);

    private readonly Lock _gate = new();
    private volatile State _state = new(new Dictionary<string, Copy>(StringComparer.Ordinal), null, false, null, null);
    private volatile bool _disabled;

    /// <summary>Creates the slot for <paramref name="layer"/> (<paramref name="layerName"/> names it in messages).</summary>
    public SavedModuleSlot(IAdaptableLayer layer, string layerName)
    {
        Layer = layer;
        LayerName = layerName;
    }

    /// <summary>The layer whose copies this slot holds.</summary>
    public IAdaptableLayer Layer { get; }

    /// <summary>The layer's path, for messages.</summary>
    public string LayerName { get; }

    /// <summary>The copies by adapter name.</summary>
    public IReadOnlyDictionary<string, Copy> Copies => _state.Copies;

    /// <summary>The adapter whose copy computes the output, or null (the base layer).</summary>
    public string? Active => _state.Active;

    /// <inheritdoc cref="IAuxiliarySlot.Names"/>
    public IReadOnlyCollection<string> Names => _state.Copies.Keys;

    /// <inheritdoc cref="IAuxiliarySlot.IsMerged"/>
    public bool IsMerged => _state.Merged;

    /// <inheritdoc cref="IAuxiliarySlot.Disabled"/>
    public bool Disabled { get => _disabled; set => _disabled = value; }

    /// <summary>
    /// Adds adapter <paramref name="name"/>'s copy: <paramref name="weight"/>/<paramref name="bias"/> as given (loaded
    /// from a file), or, when null, clones of the base (a fresh copy to train). Shapes must equal the base's.
    /// </summary>
    public Copy Add(string name, Tensor? weight = null, Tensor? bias = null)
    {
        weight ??= Layer.Weight.Clone();
        if (Layer.Bias is { } b0) bias ??= b0.Clone();
        if (!weight.Shape.SequenceEqual(Layer.Weight.Shape))
            throw new ArgumentException($"{LayerName}: the saved copy of adapter '{name}' has weight {weight.ShapeString}, the layer {Layer.Weight.ShapeString}.");
        if ((bias is null) != (Layer.Bias is null) || (bias is not null && !bias.Shape.SequenceEqual(Layer.Bias!.Shape)))
            throw new ArgumentException($"{LayerName}: the saved copy of adapter '{name}' has bias {bias?.ShapeString ?? "none"}, the layer {Layer.Bias?.ShapeString ?? "none"}.");
        weight.RequiresGrad = true;
        if (bias is not null) bias.RequiresGrad = true;
        var copy = new Copy(weight, bias);
        lock (_gate)
        {
            var s = _state;
            if (s.Copies.ContainsKey(name)) throw new InvalidOperationException($"{LayerName}: adapter '{name}' already has a saved copy.");
            _state = s with { Copies = new Dictionary<string, Copy>(s.Copies, StringComparer.Ordinal) { [name] = copy }, Active = s.Active ?? name };
        }
        return copy;
    }

    /// <summary>Replaces adapter <paramref name="name"/>'s copy with new tensors of the same shapes, in one snapshot (hot swap).</summary>
    public void Replace(string name, Tensor weight, Tensor? bias)
    {
        lock (_gate)
        {
            var s = _state;
            if (!s.Copies.TryGetValue(name, out var old)) throw new KeyNotFoundException($"{LayerName}: adapter '{name}' has no saved copy.");
            if (s.Merged && s.Active == name) throw new InvalidOperationException($"{LayerName}: adapter '{name}' is merged; Unmerge() before swapping it.");
            if (!weight.Shape.SequenceEqual(old.Weight.Shape) || (bias is null) != (old.Bias is null) || (bias is not null && !bias.Shape.SequenceEqual(old.Bias!.Shape)))
                throw new ArgumentException($"{LayerName}: a hot swap needs the saved copy's shapes ({old.Weight.ShapeString}).");
            weight.RequiresGrad = old.Weight.RequiresGrad;
            if (bias is not null) bias.RequiresGrad = old.Bias!.RequiresGrad;
            _state = s with { Copies = new Dictionary<string, Copy>(s.Copies, StringComparer.Ordinal) { [name] = new Copy(weight, bias) } };
        }
    }

    /// <inheritdoc/>
    public void SetActive(string? name)
    {
        lock (_gate)
        {
            if (_state.Merged) throw new InvalidOperationException("Unmerge before switching adapters.");
            _state = _state with { Active = name is not null && _state.Copies.ContainsKey(name) ? name : null };
        }
    }

    /// <inheritdoc/>
    public void Remove(string name)
    {
        lock (_gate)
        {
            if (_state.Active == name && _state.Merged) Unmerge();
            var copies = new Dictionary<string, Copy>(_state.Copies, StringComparer.Ordinal);
            copies.Remove(name);
            _state = _state with { Copies = copies, Active = _state.Active == name ? null : _state.Active };
        }
    }

    /// <inheritdoc/>
    public void Merge(bool safe)
    {
        lock (_gate)
        {
            var s = _state;
            if (s.Merged || s.Active is null) return;
            var copy = s.Copies[s.Active];
            if (safe)
            {
                int bad = IndexOfNonFinite(copy.Weight.Data);
                if (bad >= 0) throw new LoraMergeException(LayerName, s.Active, $"the saved copy holds {copy.Weight.Data[bad]} at index {bad}; the weight was left unchanged.");
            }
            var savedW = Layer.Weight.Data.ToArray();
            var savedB = Layer.Bias?.Data.ToArray();
            copy.Weight.Data.CopyTo(Layer.Weight.Data);
            if (copy.Bias is not null && Layer.Bias is not null) copy.Bias.Data.CopyTo(Layer.Bias.Data);
            _state = s with { Merged = true, SavedWeight = savedW, SavedBias = savedB };
            Layer.Weight.StepLock = $"{LayerName}: the saved copy of adapter '{s.Active}' is merged into this weight; Unmerge() before training.";
        }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        lock (_gate)
        {
            var s = _state;
            if (!s.Merged) return;
            s.SavedWeight!.CopyTo(Layer.Weight.Data);
            if (s.SavedBias is not null) s.SavedBias.CopyTo(Layer.Bias!.Data);
            _state = s with { Merged = false, SavedWeight = null, SavedBias = null };
            Layer.Weight.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public void BaseWeightReplaced()
    {
        lock (_gate)
        {
            _state = _state with { Merged = false, SavedWeight = null, SavedBias = null };
            Layer.Weight.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public IEnumerable<Tensor> ParametersOf(string name)
    {
        if (!_state.Copies.TryGetValue(name, out var c)) yield break;
        yield return c.Weight;
        if (c.Bias is not null) yield return c.Bias;
    }

    /// <summary>The copy that computes the output now, or null for the base.</summary>
    private Copy? Current()
    {
        var s = _state;   // one read
        return _disabled || s.Merged || s.Active is null ? null : s.Copies[s.Active];
    }

    /// <summary>Linear: x·W'ᵀ + b' with the active copy, else the base output <paramref name="y"/>.</summary>
    public Tensor ForwardLinear(Tensor x, Tensor y, bool training) => Current() is { } c ? x.Linear(c.Weight, c.Bias) : y;

    /// <summary>Embedding: rows of the active copy, else the base output <paramref name="y"/>.</summary>
    public Tensor ForwardEmbedding(int[] ids, int[] idsShape, Tensor y) => Current() is { } c ? EmbeddingOps.Embedding(c.Weight, ids, idsShape) : y;

    /// <summary>Every copy, named as in a PEFT model's state dict (<c>modules_to_save.NAME.weight</c>).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (name, c) in _state.Copies)
        {
            yield return (AdapterKeys.ModuleSavedCopy(name, AdapterKeys.WeightParameter), c.Weight);
            if (c.Bias is not null) yield return (AdapterKeys.ModuleSavedCopy(name, AdapterKeys.BiasParameter), c.Bias);
        }
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> xs)
    {
        for (int i = 0; i < xs.Length; i++) if (!float.IsFinite(xs[i])) return i;
        return -1;
    }
}
