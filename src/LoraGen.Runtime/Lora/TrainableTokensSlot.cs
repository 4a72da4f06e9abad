using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// PEFT's <c>trainable_token_indices</c> on an Embedding: per adapter, the rows of a few token ids (new special
/// tokens) are trained in place of the base rows, the rest of the table stays frozen. The active adapter's rows
/// <em>replace</em> the base rows in the lookup (PEFT's <c>index_copy</c>); merging writes them into the base weight and
/// unmerging restores the base rows bit for bit. In a PEFT model the rows are <c>token_adapter.trainable_tokens_delta.ADAPTER</c>
/// [n_tokens, dim]; in an adapter file <c>base_model.model.PATH.token_adapter.trainable_tokens_delta</c>.
/// </summary>
/// <remarks>Threads: as <see cref="LoraLayer"/>, one immutable snapshot per change, read once per pass.</remarks>
public sealed class TrainableTokensSlot : ILayerAdapter, IAuxiliarySlot
{
    /// <summary>One adapter's trained rows.</summary>
    /// <param name="Indices">The token ids, distinct, in the config's order.</param>
    /// <param name="Rows">[n_tokens, dim]: row i replaces base row Indices[i].</param>
    public sealed record Tokens(int[] Indices, Tensor Rows);

    private sealed record State(Dictionary<string, Tokens> ByName, string? Active, float[]? SavedRows);

    private readonly Lock _gate = new();
    private volatile State _state = new(new Dictionary<string, Tokens>(StringComparer.Ordinal), null, null);
    private volatile bool _disabled;

    /// <summary>Creates the slot for <paramref name="layer"/> (an Embedding).</summary>
    public TrainableTokensSlot(IAdaptableLayer layer, string layerName)
    {
        if (layer.Kind != LayerKind.Embedding) throw new ArgumentException($"{layerName}: trainable tokens need an Embedding, not a {layer.Kind}.");
        Layer = layer;
        LayerName = layerName;
    }

    /// <summary>The embedding.</summary>
    public IAdaptableLayer Layer { get; }

    /// <summary>The layer's path, for messages.</summary>
    public string LayerName { get; }

    /// <summary>The trained rows by adapter name.</summary>
    public IReadOnlyDictionary<string, Tokens> ByName => _state.ByName;

    /// <inheritdoc cref="IAuxiliarySlot.Names"/>
    public IReadOnlyCollection<string> Names => _state.ByName.Keys;

    /// <inheritdoc cref="IAuxiliarySlot.IsMerged"/>
    public bool IsMerged => _state.SavedRows is not null;

    /// <inheritdoc cref="IAuxiliarySlot.Disabled"/>
    public bool Disabled { get => _disabled; set => _disabled = value; }

    private int Vocab => Layer.Weight.Dim(0);

    private int Dim => Layer.Weight.Dim(1);

    /// <summary>
    /// Adds adapter <paramref name="name"/>'s rows for <paramref name="indices"/>: <paramref name="rows"/> as given
    /// ([n, dim], loaded from a file) or, when null, copies of the base rows (PEFT's init: outputs unchanged until training).
    /// </summary>
    public Tokens Add(string name, IReadOnlyList<int> indices, Tensor? rows = null)
    {
        var idx = indices.ToArray();
        if (idx.Length == 0) throw new ArgumentException($"{LayerName}: adapter '{name}' lists no trainable token.");
        foreach (var i in idx)
            if ((uint)i >= (uint)Vocab) throw new ArgumentException($"{LayerName}: trainable token {i} of adapter '{name}' is outside the table of {Vocab} rows.");
        if (idx.Distinct().Count() != idx.Length) throw new ArgumentException($"{LayerName}: adapter '{name}' lists a trainable token twice.");
        rows ??= BaseRows(idx);
        if (!rows.Shape.SequenceEqual([idx.Length, Dim]))
            throw new ArgumentException($"{LayerName}: the trainable tokens of adapter '{name}' are {rows.ShapeString}; expected [{idx.Length}, {Dim}] ({idx.Length} tokens × dim).");
        rows.RequiresGrad = true;
        var tokens = new Tokens(idx, rows);
        lock (_gate)
        {
            var s = _state;
            if (s.ByName.ContainsKey(name)) throw new InvalidOperationException($"{LayerName}: adapter '{name}' already has trainable tokens.");
            _state = s with { ByName = new Dictionary<string, Tokens>(s.ByName, StringComparer.Ordinal) { [name] = tokens }, Active = s.Active ?? name };
        }
        return tokens;
    }

    /// <summary>Replaces adapter <paramref name="name"/>'s rows with <paramref name="rows"/> of the same shape, in one snapshot (hot swap).</summary>
    public void Replace(string name, Tensor rows)
    {
        lock (_gate)
        {
            var s = _state;
            if (!s.ByName.TryGetValue(name, out var old)) throw new KeyNotFoundException($"{LayerName}: adapter '{name}' has no trainable tokens.");
            if (s.SavedRows is not null && s.Active == name) throw new InvalidOperationException($"{LayerName}: adapter '{name}' is merged; Unmerge() before swapping it.");
            if (!rows.Shape.SequenceEqual(old.Rows.Shape)) throw new ArgumentException($"{LayerName}: a hot swap needs the trainable tokens' shape ({old.Rows.ShapeString}).");
            rows.RequiresGrad = old.Rows.RequiresGrad;
            _state = s with { ByName = new Dictionary<string, Tokens>(s.ByName, StringComparer.Ordinal) { [name] = old with { Rows = rows } } };
        }
    }

    private Tensor BaseRows(int[] idx)
    {
        var rows = Tensor.Empty(idx.Length, Dim);
        for (int i = 0; i < idx.Length; i++) Layer.Weight.Data.Slice(idx[i] * Dim, Dim).CopyTo(rows.Data.Slice(i * Dim, Dim));
        return rows;
    }

    /// <inheritdoc/>
    public void SetActive(string? name)
    {
        lock (_gate)
        {
            if (_state.SavedRows is not null) throw new InvalidOperationException("Unmerge before switching adapters.");
            _state = _state with { Active = name is not null && _state.ByName.ContainsKey(name) ? name : null };
        }
    }

    /// <inheritdoc/>
    public void Remove(string name)
    {
        lock (_gate)
        {
            if (_state.Active == name) Unmerge();
            var byName = new Dictionary<string, Tokens>(_state.ByName, StringComparer.Ordinal);
            byName.Remove(name);
            _state = _state with { ByName = byName, Active = _state.Active == name ? null : _state.Active };
        }
    }

    /// <summary>W[indices] = rows of the active adapter (PEFT's merge: <c>index_copy</c>, a replacement).</summary>
    public void Merge(bool safe)
    {
        lock (_gate)
        {
            var s = _state;
            if (s.SavedRows is not null || s.Active is null) return;
            var t = s.ByName[s.Active];
            if (safe)
            {
                foreach (var v in t.Rows.Data)
                    if (!float.IsFinite(v)) throw new LoraMergeException(LayerName, s.Active, $"the trainable tokens hold {v}; the weight was left unchanged.");
            }
            var saved = BaseRows(t.Indices).Data.ToArray();
            for (int i = 0; i < t.Indices.Length; i++) t.Rows.Data.Slice(i * Dim, Dim).CopyTo(Layer.Weight.Data.Slice(t.Indices[i] * Dim, Dim));
            _state = s with { SavedRows = saved };
            Layer.Weight.StepLock = $"{LayerName}: the trainable tokens of adapter '{s.Active}' are merged into this weight; Unmerge() before training.";
        }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        lock (_gate)
        {
            var s = _state;
            if (s.SavedRows is null) return;
            var t = s.ByName[s.Active!];
            for (int i = 0; i < t.Indices.Length; i++) s.SavedRows.AsSpan(i * Dim, Dim).CopyTo(Layer.Weight.Data.Slice(t.Indices[i] * Dim, Dim));
            _state = s with { SavedRows = null };
            Layer.Weight.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public void BaseWeightReplaced()
    {
        lock (_gate)
        {
            _state = _state with { SavedRows = null };
            Layer.Weight.StepLock = null;
        }
    }

    /// <inheritdoc/>
    public IEnumerable<Tensor> ParametersOf(string name)
    {
        if (_state.ByName.TryGetValue(name, out var t)) yield return t.Rows;
    }

    /// <summary>Not a Linear adapter.</summary>
    public Tensor ForwardLinear(Tensor x, Tensor y, bool training) => throw new InvalidOperationException($"{LayerName}: trainable tokens apply to an Embedding.");

    /// <summary>
    /// The base lookup <paramref name="y"/> [..., dim] with each position whose id is a trained token replaced by that
    /// token's row: y·(1 − m) + rows[slot(id)]·m, m = 1 at those positions (gradients reach only the trained rows).
    /// </summary>
    public Tensor ForwardEmbedding(int[] ids, int[] idsShape, Tensor y)
    {
        var s = _state;   // one read
        if (_disabled || s.SavedRows is not null || s.Active is null) return y;
        var t = s.ByName[s.Active];
        int dim = Dim;
        var slot = new int[ids.Length];
        var keep = Tensor.Ones(y.shape);
        var take = Tensor.Zeros(y.shape);
        bool any = false;
        for (int i = 0; i < ids.Length; i++)
        {
            int k = Array.IndexOf(t.Indices, ids[i]);
            if (k < 0) continue;
            any = true;
            slot[i] = k;
            keep.Data.Slice(i * dim, dim).Clear();
            take.Data.Slice(i * dim, dim).Fill(1f);
        }
        if (!any) return y;
        var trained = EmbeddingOps.Embedding(t.Rows, slot, idsShape);   // [..., dim]
        return y * keep + trained * take;
    }

    /// <summary>Every adapter's rows, named as in a PEFT model's state dict (<c>token_adapter.trainable_tokens_delta.NAME</c>).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (name, t) in _state.ByName) yield return (AdapterKeys.ModuleTokensDelta(name), t.Rows);
    }
}
