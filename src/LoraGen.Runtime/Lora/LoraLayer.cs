using LoraGen.Combine;
using LoraGen.Kernels;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// The adapter slot of a Linear or Embedding layer and all the LoRA math: adapter creation and initialization,
/// the forward contribution, ΔW, merge/unmerge with state tracking, and a safe merge that refuses NaN/Inf.
/// Generated code and the <c>Lora</c> facade call this type; it never changes the base weight except by merge.
/// </summary>
/// <remarks>
/// Threads: the adapter set, the active and the merged adapters are one immutable snapshot; a forward pass reads it
/// once, and every change builds a new snapshot under a per-layer lock and publishes it with one reference write, so
/// a change on another thread never breaks a pass in flight. <see cref="Merge"/> keeps a copy of the base weight and
/// <see cref="Unmerge"/> writes that copy back, so W is bit-identical to the base after an unmerge even when A or B
/// changed meanwhile. See src/LoraGen.Runtime/README.md.
/// </remarks>
public sealed class LoraLayer : ILayerAdapter
{
    /// <summary>What a forward pass reads, published as a whole. <c>Saved</c> is W before the first merge.</summary>
    private sealed record State(Dictionary<string, LoraAdapter> Adapters, string[] Active, string[] Merged, float[]? Saved)
    {
        public static readonly State Empty = new(new Dictionary<string, LoraAdapter>(StringComparer.Ordinal), [], [], null);
    }

    private readonly Lock _gate = new();
    private volatile State _state = State.Empty;
    private volatile bool _disabled;
    private volatile string[]? _rowAdapters;
    private readonly bool _knowsBias;
    private readonly Tensor? _bias;

    /// <summary>Creates the slot for a layer whose base weight is <paramref name="weight"/>.</summary>
    public LoraLayer(LayerKind kind, Tensor weight, string layerName)
    {
        if (weight.Rank != 2) throw new ArgumentException($"{layerName}: the base weight must be 2-D, got {weight.ShapeString}.");
        Kind = kind;
        Weight = weight;
        LayerName = layerName;
    }

    /// <summary>
    /// Creates the slot of <paramref name="layer"/>. Knowing the layer's bias, a DoRA adapter reuses the layer's own
    /// output (x·Wᵀ + b) − b for x·Wᵀ instead of multiplying by W again (when no dropout applies).
    /// </summary>
    internal LoraLayer(IAdaptableLayer layer, string layerName) : this(layer.Kind, layer.Weight, layerName)
    {
        _knowsBias = true;
        _bias = layer.Bias;
    }

    /// <summary>Linear or Embedding.</summary>
    public LayerKind Kind { get; }

    /// <summary>The base weight the adapters modify when merged.</summary>
    public Tensor Weight { get; }

    /// <summary>A name for messages (the layer's path when known).</summary>
    public string LayerName { get; set; }

    /// <summary>The adapters by name.</summary>
    public IReadOnlyDictionary<string, LoraAdapter> Adapters => _state.Adapters;

    /// <summary>The adapters that take part in the forward pass.</summary>
    public IReadOnlyList<string> ActiveAdapters => _state.Active;

    /// <summary>The adapters currently folded into <see cref="Weight"/>, in merge order.</summary>
    public IReadOnlyList<string> MergedAdapters => _state.Merged;

    /// <summary>True when any adapter is merged.</summary>
    public bool IsMerged => _state.Merged.Length > 0;

    /// <summary>
    /// PEFT's <c>adapter_names=</c>: when set, row i of a batch (the first dimension) goes through adapter
    /// RowAdapters[i] alone ("__base__": none), inference only, no merging (see <see cref="MixedBatch"/>).
    /// </summary>
    public IReadOnlyList<string>? RowAdapters { get => _rowAdapters; set => _rowAdapters = value?.ToArray(); }

    /// <summary>When true the forward pass ignores unmerged adapters (the base model's output, unless merged).</summary>
    public bool Disabled { get => _disabled; set => _disabled = value; }

    private int InDim => Kind == LayerKind.Linear ? Weight.Dim(1) : Weight.Dim(0);
    private int OutDim => Kind == LayerKind.Linear ? Weight.Dim(0) : Weight.Dim(1);

    /// <summary>
    /// Adds an adapter: for Linear, A per <see cref="LoraConfig.Init"/> and B = 0; for Embedding, A = 0 and
    /// B ~ N(0, 1) as PEFT does. Either way the layer's output is unchanged until training moves B (or A).
    /// The new adapter becomes active if none is.
    /// </summary>
    public LoraAdapter Add(string name, LoraConfig config, Rng rng)
    {
        CheckNew(name, config);
        int r = config.Rank, inDim = InDim, outDim = OutDim;
        Tensor a, b;
        if (config.Init is LoraInit.Pissa or LoraInit.Olora) return AddResidualInit(name, config, rng);
        if (Kind == LayerKind.Linear)
        {
            a = config.Init == LoraInit.Gaussian
                ? Tensor.Randn(rng, 1f / r, r, inDim)
                : Tensor.Uniform(rng, -1f / MathF.Sqrt(inDim), 1f / MathF.Sqrt(inDim), r, inDim);   // kaiming_uniform(a=√5)
            b = Tensor.Zeros(outDim, r);
        }
        else
        {
            a = Tensor.Zeros(r, inDim);
            b = Tensor.Randn(rng, 1f, outDim, r);
        }
        return Register(name, config, a, b, new Rng(rng.NextUInt() | (ulong)rng.NextUInt() << 32), InitialMagnitude(config, a, b));
    }

    /// <summary>
    /// Adds an adapter with given A and B (e.g. loaded from a file); shapes are checked against the layer. A DoRA
    /// adapter (<see cref="LoraConfig.UseDora"/>) takes <paramref name="magnitude"/> ([out] or [dim]) or, when it is
    /// null, ‖W + s·BA‖ per output feature, so the layer's output does not jump.
    /// </summary>
    public LoraAdapter Add(string name, LoraConfig config, Tensor a, Tensor b, Tensor? magnitude = null)
    {
        CheckNew(name, config);
        int r = config.Rank;
        if (!a.Shape.SequenceEqual([r, InDim]))
            throw new ShapeMismatchException("lora", "A", a.shape, "expected", [r, InDim], $"{LayerName}: adapter '{name}' A must be [r, {(Kind == LayerKind.Linear ? "in" : "num_embeddings")}].");
        if (!b.Shape.SequenceEqual([OutDim, r]))
            throw new ShapeMismatchException("lora", "B", b.shape, "expected", [OutDim, r], $"{LayerName}: adapter '{name}' B must be [{(Kind == LayerKind.Linear ? "out" : "dim")}, r].");
        if (magnitude is not null && (!config.UseDora || !magnitude.Shape.SequenceEqual([OutDim])))
            throw new ShapeMismatchException("lora", "magnitude", magnitude.shape, "expected", [OutDim],
                $"{LayerName}: adapter '{name}' {(config.UseDora ? "DoRA magnitude must be [out] (Linear) or [dim] (Embedding)" : "has a magnitude but is not a DoRA adapter")}.");
        return Register(name, config, a, b, new Rng(StableHash(name)), magnitude ?? InitialMagnitude(config, a, b));
    }

    /// <summary>
    /// PiSSA/OLoRA: A [r, in], B [out, r] from W's SVD or QR and W ← W − s·BA, so the layer starts where the base did
    /// (the PEFT unit's <see cref="ResidualFactors"/>, in float64).
    /// </summary>
    private LoraAdapter AddResidualInit(string name, LoraConfig config, Rng rng)
    {
        if (Kind != LayerKind.Linear) throw new ArgumentException($"{LayerName}: {config.Init} initialisation applies to Linear layers only (as PEFT).");
        lock (_gate)
        {
            if (_state.Merged.Length > 0) throw new InvalidOperationException($"{LayerName}: Unmerge() before a {config.Init} initialisation (it rewrites the base weight).");
            var (a, b) = ResidualFactorsOf(config, rng.NextUInt() | (ulong)rng.NextUInt() << 32);
            var initial = (a.Clone(), b.Clone());
            var ad = Register(name, config, a, b, new Rng(rng.NextUInt()), null);
            ad.Initial = initial;
            return ad;
        }
    }

    /// <summary>A and B of a PiSSA/OLoRA <paramref name="config"/> from this layer's W, which becomes the residual W − s·BA.</summary>
    private (Tensor A, Tensor B) ResidualFactorsOf(LoraConfig config, ulong seed)
    {
        int outDim = Weight.Dim(0), inDim = Weight.Dim(1), r = config.Rank;
        double s = config.Scaling;   // float32, as the adapter's forward pass uses it
        var w = new double[Weight.Size];
        for (int i = 0; i < w.Length; i++) w[i] = Weight.Data[i];
        var (fa, fb) = config.Init == LoraInit.Pissa
            ? ResidualFactors.Pissa(w, outDim, inDim, r, s, config.PissaNiter, seed)
            : ResidualFactors.Olora(w, outDim, inDim, r);
        ResidualFactors.Residual(w, fa, fb, outDim, inDim, r, s).CopyTo(Weight.Data);
        return (Tensor.FromArray(fa, r, inDim), Tensor.FromArray(fb, outDim, r));
    }

    /// <summary>DoRA's m at creation: ‖W + s·BA‖ per output feature (null for plain LoRA).</summary>
    private Tensor? InitialMagnitude(LoraConfig config, Tensor a, Tensor b)
    {
        if (!config.UseDora) return null;
        var delta = DeltaOf(a, b, config.Rank, config.Scaling);
        var norm = Dora.WeightNorm(Kind, Weight.Data, delta.Data, Weight.Dim(0), Weight.Dim(1));
        return Tensor.FromArray(norm, norm.Length);
    }

    /// <summary>
    /// Why adapter <paramref name="name"/> with <paramref name="config"/> cannot be added to <paramref name="layer"/>
    /// (at <paramref name="path"/>), or null when it can: the check a whole-model attach or load runs on every layer
    /// before it changes any, so that it either adapts them all or none.
    /// </summary>
    internal static string? ProblemAdding(IAdaptableLayer layer, string path, string name, LoraConfig config)
    {
        try { config.Validate($"{path} adapter '{name}'"); }
        catch (ArgumentException e) { return e.Message; }
        return layer.Adapter switch
        {
            null => null,
            LoraLayer slot when slot._state.Adapters.ContainsKey(name) => $"{path}: an adapter named '{name}' already exists on this layer.",
            LoraLayer => null,
            var other => $"{path}: the layer already holds a {other.GetType().Name} adapter.",
        };
    }

    private void CheckNew(string name, LoraConfig config)
    {
        config.Validate($"{LayerName} adapter '{name}'");
        if (_state.Adapters.ContainsKey(name)) throw new InvalidOperationException($"{LayerName}: an adapter named '{name}' already exists.");
    }

    /// <summary>Makes A and B trainable, stores the adapter, and activates it if none is active.</summary>
    private LoraAdapter Register(string name, LoraConfig config, Tensor a, Tensor b, Rng dropoutRng, Tensor? magnitude)
    {
        a.RequiresGrad = true;
        b.RequiresGrad = true;
        if (magnitude is not null) magnitude.RequiresGrad = true;
        var adapter = new LoraAdapter(name, config, a, b, dropoutRng, magnitude);
        lock (_gate)
        {
            var s = _state;
            if (s.Adapters.ContainsKey(name)) throw new InvalidOperationException($"{LayerName}: an adapter named '{name}' already exists.");
            var adapters = new Dictionary<string, LoraAdapter>(s.Adapters, StringComparer.Ordinal) { [name] = adapter };
            _state = s with { Adapters = adapters, Active = s.Active.Length == 0 ? [name] : s.Active };
        }
        return adapter;
    }

    private static ulong StableHash(string s)
    {
        ulong h = 14695981039346656037UL;   // FNV-1a: the same seed for the same name in every process
        foreach (char c in s) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    /// <summary>Removes an adapter, unmerging everything first if it is merged.</summary>
    public void Remove(string name)
    {
        lock (_gate)
        {
            if (!_state.Adapters.ContainsKey(name)) throw new KeyNotFoundException($"{LayerName}: no adapter named '{name}'.");
            if (_state.Merged.Contains(name)) Unmerge();
            var s = _state;
            var adapters = new Dictionary<string, LoraAdapter>(s.Adapters, StringComparer.Ordinal);
            adapters.Remove(name);
            _state = s with { Adapters = adapters, Active = s.Active.Where(n => n != name).ToArray() };
            UpdateStepLocks();
        }
    }

    /// <summary>
    /// Hot swap: adapter <paramref name="name"/> gets new A and B (and settings, e.g. another α) of the same rank and
    /// shapes, published in one snapshot: a pass in flight computes with the old pair or the new one, never a mix.
    /// A merged adapter is refused (unmerge first).
    /// </summary>
    public void Replace(string name, LoraConfig config, Tensor a, Tensor b)
    {
        config.Validate($"{LayerName} adapter '{name}'");
        lock (_gate)
        {
            var s = _state;
            if (!s.Adapters.TryGetValue(name, out var old)) throw new KeyNotFoundException($"{LayerName}: no adapter named '{name}'.");
            if (s.Merged.Contains(name)) throw new InvalidOperationException($"{LayerName}: adapter '{name}' is merged; Unmerge() before swapping it.");
            if (config.Rank != old.Config.Rank || !a.Shape.SequenceEqual(old.A.Shape) || !b.Shape.SequenceEqual(old.B.Shape))
                throw new ArgumentException($"{LayerName}: a hot swap needs adapter '{name}''s shapes (A {old.A.ShapeString}, B {old.B.ShapeString}), got A {a.ShapeString}, B {b.ShapeString}.");
            a.RequiresGrad = old.A.RequiresGrad;
            b.RequiresGrad = old.B.RequiresGrad;
            var adapters = new Dictionary<string, LoraAdapter>(s.Adapters, StringComparer.Ordinal) { [name] = new LoraAdapter(name, config, a, b, old.DropoutRng) };
            _state = s with { Adapters = adapters };
        }
    }

    /// <summary>Makes exactly these adapters active.</summary>
    public void SetActive(params string[] names)
    {
        lock (_gate)
        {
            var s = _state;
            foreach (var n in names)
                if (!s.Adapters.ContainsKey(n)) throw new KeyNotFoundException($"{LayerName}: no adapter named '{n}' (have: {string.Join(", ", s.Adapters.Keys)}).");
            _state = s with { Active = names.Distinct().ToArray() };
        }
    }

    /// <summary>ΔW for adapter <paramref name="name"/>, in the base weight's layout.</summary>
    public Tensor DeltaWeight(string name)
    {
        var ad = _state.Adapters.TryGetValue(name, out var x) ? x : throw new KeyNotFoundException($"{LayerName}: no adapter named '{name}'.");
        return DeltaOf(ad.A, ad.B, ad.Config.Rank, ad.Scaling);
    }

    /// <summary>s·BA in the base weight's layout.</summary>
    internal Tensor DeltaOf(Tensor a, Tensor b, int r, float scaling)
    {
        var delta = Tensor.Empty(Weight.shape);
        if (Kind == LayerKind.Linear)   // [out, in] = s · B[out, r] · A[r, in]
            Gemm.Sgemm(false, false, OutDim, InDim, r, scaling, b.Data, r, a.Data, InDim, 0f, delta.Data, InDim);
        else                                 // [num, dim] = s · A[r, num]ᵀ · B[dim, r]ᵀ
            Gemm.Sgemm(true, true, InDim, OutDim, r, scaling, a.Data, InDim, b.Data, r, 0f, delta.Data, OutDim);
        return delta;
    }

    /// <summary>
    /// Folds the given adapters (default: the active ones) into the base weight: W += ΔW. Adapters already merged
    /// are skipped, so merging twice is a no-op. With <paramref name="safe"/>, the result is computed on a copy
    /// and checked for NaN/Inf first; a bad result throws <see cref="LoraMergeException"/> and W is unchanged.
    /// Before the first merge W is copied; <see cref="Unmerge"/> restores that copy.
    /// </summary>
    public void Merge(bool safe = false, IEnumerable<string>? names = null)
    {
        lock (_gate) MergeLocked(safe, names);
    }

    private void MergeLocked(bool safe, IEnumerable<string>? names)
    {
        foreach (var name in (names ?? _state.Active).ToList())
        {
            if (_state.Merged.Contains(name)) continue;
            var delta = DeltaWeight(name);
            if (_state.Adapters[name].Magnitude is { } m)   // DoRA: W' = m/‖W + ΔW‖ ⊙ (W + ΔW)
                Dora.ToMergeIncrement(Kind, Weight.Data, delta.Data, m.Data, Weight.Dim(0), Weight.Dim(1));
            var saved = _state.Saved ?? Weight.Data.ToArray();
            if (safe)
            {
                var candidate = Weight.Clone();
                ElementwiseOps.AddInPlace(candidate.Data, delta.Data);
                int bad = IndexOfNonFinite(candidate.Data);
                if (bad >= 0)
                    throw new LoraMergeException(LayerName, name, $"merging would put {candidate.Data[bad]} at index {bad} of the weight {Weight.ShapeString}; the weight was left unchanged.");
                candidate.Data.CopyTo(Weight.Data);
            }
            else ElementwiseOps.AddInPlace(Weight.Data, delta.Data);
            _state = _state with { Merged = [.. _state.Merged, name], Saved = saved };
            UpdateStepLocks();
        }
    }

    /// <summary>
    /// While merged, W and the merged adapters' A and B may not be stepped by an optimizer: a step would change W or
    /// ΔW, and Unmerge would then leave W − ΔW' ≠ W.
    /// </summary>
    private void UpdateStepLocks()
    {
        var s = _state;
        Weight.StepLock = s.Merged.Length > 0 ? $"{LayerName}: adapter(s) {string.Join(", ", s.Merged)} are merged into this weight; Unmerge() before training." : null;
        foreach (var ad in s.Adapters.Values)
        {
            string? reason = s.Merged.Contains(ad.Name) ? $"{LayerName}: adapter '{ad.Name}' is merged; Unmerge() before training it." : null;
            foreach (var p in ad.Parameters()) p.StepLock = reason;
        }
    }

    /// <inheritdoc />
    public void BaseWeightReplaced()
    {
        lock (_gate)
        {
            _state = _state with { Merged = [], Saved = null };
            UpdateStepLocks();
        }
    }

    /// <summary>Undoes every merge: W is restored bit for bit from the copy <see cref="Merge"/> took.</summary>
    public void Unmerge()
    {
        lock (_gate)
        {
            if (_state.Saved is { } saved) saved.CopyTo(Weight.Data);
            _state = _state with { Merged = [], Saved = null };
            UpdateStepLocks();
        }
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> xs)
    {
        for (int i = 0; i < xs.Length; i++) if (!float.IsFinite(xs[i])) return i;
        return -1;
    }

    /// <summary>The active, unmerged adapters, unless disabled.</summary>
    private List<LoraAdapter> Contributing()
    {
        var s = _state;   // one read: a concurrent change publishes a new snapshot and leaves this one whole
        var result = new List<LoraAdapter>(s.Active.Length);
        if (_disabled) return result;
        foreach (var name in s.Active)
            if (!s.Merged.Contains(name) && s.Adapters.TryGetValue(name, out var ad)) result.Add(ad);
        return result;
    }

    /// <summary>Linear: y + Σ s · (dropout(x) · Aᵀ) · Bᵀ over the contributing adapters.</summary>
    public Tensor ForwardLinear(Tensor x, Tensor y, bool training)
    {
        if (_rowAdapters is { } rows) return MixedBatch.Linear(this, rows, x, y, training);
        var layerOutput = y;   // x·Wᵀ + b, before any adapter adds to it
        Tensor? baseOutput = null;
        foreach (var ad in Contributing())
        {
            if (ad.Magnitude is not null)
            {
                var xd = x.Dropout((float)ad.Config.Dropout, ad.DropoutRng, training);          // [..., in]
                // Without dropout DoRA's x̃·Wᵀ is the layer's own product: reuse it (as PEFT does) rather than multiply again.
                if (ReferenceEquals(xd, x) && _knowsBias) baseOutput ??= _bias is null ? layerOutput : layerOutput - _bias;   // [..., out]
                var reused = ReferenceEquals(xd, x) ? baseOutput : null;
                y = y + Dora.LinearContribution(Weight, DeltaOf(ad.A, ad.B, ad.Config.Rank, ad.Scaling), xd, ad, reused);
                continue;
            }
            y = LoraOps.LoraLinear(x, y, ad.A, ad.B, ad.Scaling, (float)ad.Config.Dropout, ad.DropoutRng, training);   // [..., out]
        }
        return y;
    }

    /// <summary>Embedding: y + Σ s · Aᵀ[ids] · Bᵀ over the contributing adapters (no dropout, as PEFT).</summary>
    public Tensor ForwardEmbedding(int[] ids, int[] idsShape, Tensor y)
    {
        if (_rowAdapters is { } rows) return MixedBatch.Embedding(this, rows, ids, idsShape, y);
        foreach (var ad in Contributing())
        {
            var h = EmbeddingOps.Embedding(ad.A.Transpose(0, 1), ids, idsShape);   // [..., r]
            var e = h.Scale(ad.Scaling).Linear(ad.B);                              // [..., dim]
            y = ad.Magnitude is null ? y + e : Dora.EmbeddingOutput(Weight, DeltaOf(ad.A, ad.B, ad.Config.Rank, ad.Scaling), y, e, ad);
        }
        return y;
    }

    /// <summary>A and B of every adapter, named as in a PEFT model's state dict (<c>lora_A.NAME.weight</c>, <c>lora_embedding_A.NAME</c>).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var ad in _state.Adapters.Values)
        {
            yield return (AdapterKeys.ModuleA(ad.Name, Kind), ad.A);
            yield return (AdapterKeys.ModuleB(ad.Name, Kind), ad.B);
            if (ad.Magnitude is not null) yield return (AdapterKeys.ModuleMagnitude(ad.Name), ad.Magnitude);
        }
    }
}
