using LoraGen.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// LoRA on one TorchSharp <see cref="Linear"/> or <see cref="Embedding"/> (both sealed, so nothing is subclassed):
/// a forward hook on the layer adds <c>scaling · B(A(dropout(x)))</c> for every active, unmerged adapter, so the
/// user's <c>layer.call(x)</c> is unchanged (<c>forward(x)</c> runs no hooks and so no LoRA). This module holds the
/// named adapters and is registered on the module that OWNS the layer, not inside the layer: TorchSharp's Linear
/// converts only its own weight and bias, while the owner's <c>to(device/dtype)</c>, <c>train()</c>,
/// <c>parameters()</c> and <c>state_dict()</c> recurse into its registered children. The layer itself is held, not
/// registered, so its parameters are not listed twice. Attaching freezes the layer's weight and bias.
/// Merge, unmerge and safe merge run under <c>no_grad</c>, with state tracking as the managed backend's: the first
/// merge keeps a copy of W, and <see cref="Unmerge"/> writes it back, so W is bit-identical to the base afterwards.
/// Variants: DoRA (<see cref="TorchLoraConfig.UseDora"/>, a magnitude per output feature) and PiSSA/OLoRA
/// initialisation (<see cref="TorchLoraConfig.Init"/>, which rewrites W to the residual).
/// </summary>
public sealed class TorchLoraLayer : nn.Module, ITorchAdapterLayer
{
    /// <summary>The layers that carry LoRA now, so that a second attach to the same layer is refused.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<nn.Module, TorchLoraLayer> Hooked = new();

    private readonly nn.Module _owner;
    private readonly nn.Module<Tensor, Tensor> _target;
    private readonly long? _paddingIdx;
    // Copy-on-write: a change publishes a new dictionary with one reference write, so the hook, which reads it once per
    // pass, sees a whole set (HotSwap's per-layer atomicity rests on this).
    private volatile Dictionary<string, TorchLoraAdapter> _adapters = new(StringComparer.Ordinal);
    private readonly List<string> _active = [];
    private readonly List<string> _merged = [];
    private readonly List<(string Name, bool RequiresGrad)> _frozen = [];
    private Tensor? _saved;   // W before the first merge
    private nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover? _hook;

    private TorchLoraLayer(nn.Module owner, LayerKind kind, nn.Module<Tensor, Tensor> target, long? paddingIdx, string? name)
        : base(nameof(TorchLoraLayer))
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(target);
        // The target's path under the owner, by identity: it must be registered (RegisterComponents or register_module).
        var targetPath = owner.named_modules().FirstOrDefault(m => ReferenceEquals(m.module, target)).name
            ?? throw new ArgumentException($"the {kind} is not a registered submodule of {owner.GetName()}: register it first (RegisterComponents() in the owner's constructor, or register_module).", nameof(target));
        if (Hooked.TryGetValue(target, out var existing))
            throw new InvalidOperationException($"{owner.GetName()}.{targetPath} already has LoRA (layer '{existing.Name}'): add adapters to that layer instead.");
        name ??= targetPath.Replace('.', '_') + NameSuffix;
        if (name.Length == 0 || name.Contains('.')) throw new ArgumentException($"a LoRA layer's name must be non-empty and without '.', got '{name}'.", nameof(name));
        TargetPath = targetPath;
        _owner = owner;
        _target = target;
        _paddingIdx = paddingIdx;
        Name = name;
        Kind = kind;
        using (var w = BaseWeight())
        {
            if (w.dim() != 2) throw new ArgumentException($"{name}: the base weight must be 2-D, got [{string.Join(", ", w.shape)}].");
            var shape = w.shape;
            (InFeatures, OutFeatures) = kind == LayerKind.Linear ? (shape[1], shape[0]) : (shape[0], shape[1]);
        }
        owner.register_module(name, this);
        foreach (var (pname, p) in target.named_parameters())
        {
            _frozen.Add((pname, p.requires_grad));
            p.requires_grad = false;
        }
        _hook = target.register_forward_hook(Hook);
        Hooked.Add(target, this);
    }

    /// <summary>The suffix of a layer's default name: <c>q_proj</c> gets <c>q_proj_lora</c> (<c>heads.0</c> gets <c>heads_0_lora</c>).</summary>
    public const string NameSuffix = "_lora";

    /// <summary>
    /// Attaches LoRA to <paramref name="target"/>, a Linear registered under <paramref name="owner"/> (found by
    /// identity in its module tree): registers the new layer on the owner as <paramref name="name"/> (default: the
    /// target's path with '.' → '_', plus <see cref="NameSuffix"/>), hooks the Linear and freezes its weight and bias.
    /// Add adapters with <see cref="Add(string, TorchLoraConfig, Generator?)"/>.
    /// </summary>
    public static TorchLoraLayer Attach(nn.Module owner, Linear target, string? name = null) =>
        new(owner, LayerKind.Linear, target, null, name);

    /// <summary>
    /// Attaches LoRA to <paramref name="target"/>, an Embedding registered under <paramref name="owner"/> (see
    /// <see cref="Attach(nn.Module, Linear, string?)"/>). Give the embedding's <paramref name="paddingIdx"/> if it has
    /// one (TorchSharp does not expose it): as in PEFT, that row of the adapter then gets no gradient.
    /// </summary>
    public static TorchLoraLayer Attach(nn.Module owner, Embedding target, long? paddingIdx = null, string? name = null) =>
        new(owner, LayerKind.Embedding, target, paddingIdx, name);

    /// <summary>The name this layer is registered under on its owner.</summary>
    public string Name { get; }

    /// <summary>Linear or Embedding.</summary>
    public LayerKind Kind { get; }

    /// <summary>The adapted layer's path under the owner (<c>q_proj</c>, <c>heads.0</c>): with the owner's own path, the module path PEFT keys use.</summary>
    public string TargetPath { get; }

    /// <summary>The adapted layer (held, not registered).</summary>
    public nn.Module<Tensor, Tensor> Target => _target;

    /// <summary>in_features of a Linear; num_embeddings of an Embedding (the columns of A).</summary>
    public long InFeatures { get; }

    /// <summary>out_features of a Linear; embedding_dim of an Embedding (the rows of B).</summary>
    public long OutFeatures { get; }

    /// <summary>The adapters by name.</summary>
    public IReadOnlyDictionary<string, TorchLoraAdapter> Adapters => _adapters;

    /// <summary>The adapters that take part in the forward pass.</summary>
    public IReadOnlyList<string> ActiveAdapters => _active;

    /// <summary>The adapters currently folded into the base weight, in merge order.</summary>
    public IReadOnlyList<string> MergedAdapters => _merged;

    /// <summary>True when any adapter is merged.</summary>
    public bool IsMerged => _merged.Count > 0;

    /// <summary>When true the hook adds nothing (the base model's output, unless adapters are merged).</summary>
    public bool Disabled { get; set; }

    /// <summary>True once <see cref="Unload"/> has run.</summary>
    public bool IsUnloaded => _hook is null;

    /// <summary>Disables this layer until the returned scope is disposed (then restores the previous state).</summary>
    public TorchLoraDisableScope Disable() => new([this]);

    /// <summary>
    /// Adds an adapter, on the base weight's device, float32 for a float16/bfloat16 base (else the base's dtype).
    /// Linear: A per <see cref="TorchLoraConfig.Init"/> (Kaiming: U(±1/√in), i.e. kaiming_uniform(a=√5) as PEFT;
    /// Gaussian: N(0, 1/r)) and B = 0. Embedding: A = 0 and B ~ N(0, 1), as PEFT. Either way the output is unchanged
    /// until training moves B (or A). PiSSA/OLoRA (Linear only): A and B from W's SVD/QR and W ← W − s·BA (the PEFT
    /// unit's <see cref="Combine.ResidualFactors"/>), so the output is unchanged too. DoRA: m = ‖W + s·BA‖ per output
    /// feature. Draws from <paramref name="generator"/>, or TorchSharp's default generator. The first adapter becomes active.
    /// </summary>
    public TorchLoraAdapter Add(string adapterName, TorchLoraConfig config, Generator? generator = null)
    {
        CheckNew(adapterName, config);
        if (config.Init is LoraInit.Pissa or LoraInit.Olora) return AddResidualInit(adapterName, config, generator);
        var (device, dtype) = AdapterPlacement();
        int r = config.Rank;
        Tensor a, b;
        using (torch.no_grad())
        {
            if (Kind == LayerKind.Linear)
            {
                a = torch.empty([r, InFeatures], dtype: dtype, device: device);
                if (config.Init == LoraInit.Gaussian) nn.init.normal_(a, 0, 1.0 / r, generator);
                else
                {
                    double bound = 1.0 / Math.Sqrt(InFeatures);   // kaiming_uniform(a=√5): gain·√(3/fan_in) = 1/√fan_in
                    nn.init.uniform_(a, -bound, bound, generator);
                }
                b = torch.zeros([OutFeatures, r], dtype: dtype, device: device);
            }
            else
            {
                a = torch.zeros([r, InFeatures], dtype: dtype, device: device);
                b = torch.empty([OutFeatures, r], dtype: dtype, device: device);
                nn.init.normal_(b, 0, 1, generator);
            }
        }
        return Register(adapterName, config, a, b, InitialMagnitude(config, a, b));
    }

    /// <summary>
    /// Adds an adapter with given A and B (e.g. read from an adapter file): shapes are checked against the layer, and
    /// the values are copied to the adapter's device and dtype (the caller keeps its tensors). A DoRA adapter takes
    /// <paramref name="magnitude"/> ([out] or [embedding_dim]) or, when it is null, ‖W + s·BA‖ per output feature.
    /// </summary>
    public TorchLoraAdapter Add(string adapterName, TorchLoraConfig config, Tensor a, Tensor b, Tensor? magnitude = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        CheckNew(adapterName, config);
        long r = config.Rank;
        string what = Kind == LayerKind.Linear ? "in" : "num_embeddings", whatOut = Kind == LayerKind.Linear ? "out" : "embedding_dim";
        if (!a.shape.SequenceEqual([r, InFeatures]))
            throw new ArgumentException($"{Name}: adapter '{adapterName}' A must be [r, {what}] = [{r}, {InFeatures}], got [{string.Join(", ", a.shape)}].", nameof(a));
        if (!b.shape.SequenceEqual([OutFeatures, r]))
            throw new ArgumentException($"{Name}: adapter '{adapterName}' B must be [{whatOut}, r] = [{OutFeatures}, {r}], got [{string.Join(", ", b.shape)}].", nameof(b));
        if (magnitude is not null && (!config.UseDora || !magnitude.shape.SequenceEqual([OutFeatures])))
            throw new ArgumentException($"{Name}: adapter '{adapterName}' " + (config.UseDora
                ? $"DoRA magnitude must be [{whatOut}] = [{OutFeatures}], got [{string.Join(", ", magnitude.shape)}]."
                : "has a magnitude but is not a DoRA adapter."), nameof(magnitude));
        var (device, dtype) = AdapterPlacement();
        using var _ = torch.no_grad();
        using var ca = a.to(dtype, device, copy: true);
        using var cb = b.to(dtype, device, copy: true);
        var m = magnitude is null ? InitialMagnitude(config, ca, cb) : magnitude.to(dtype, device, copy: true).detach();
        return Register(adapterName, config, ca.detach(), cb.detach(), m);
    }

    /// <summary>DoRA's m at creation: ‖W + s·BA‖ per output feature (null for plain LoRA).</summary>
    private Tensor? InitialMagnitude(TorchLoraConfig config, Tensor a, Tensor b)
    {
        if (!config.UseDora) return null;
        using var w = BaseWeight();
        return TorchDora.InitialMagnitude(Kind, w, a, b, config.Scaling);
    }

    /// <summary>PiSSA/OLoRA: A, B from W's SVD or QR and W ← W − s·BA, by the PEFT unit's <see cref="Combine.ResidualFactors"/>.</summary>
    private TorchLoraAdapter AddResidualInit(string adapterName, TorchLoraConfig config, Generator? generator)
    {
        if (Kind != LayerKind.Linear) throw new ArgumentException($"{Name}: {config.Init} initialisation applies to Linear layers only (as PEFT).");
        if (IsMerged) throw new InvalidOperationException($"{Name}: Unmerge() before a {config.Init} initialisation (it rewrites the base weight).");
        int outDim = (int)OutFeatures, inDim = (int)InFeatures, r = config.Rank;
        double s = (float)config.Scaling;   // the managed backend's float32 scaling, so both compute the same factors
        using var _ = torch.no_grad();
        using var w = BaseWeight();
        double[] w64;
        using (var cpu = w.detach().to(ScalarType.Float64, torch.CPU, copy: true).contiguous()) w64 = cpu.data<double>().ToArray();
        float[] fa, fb;
        if (config.Init == LoraInit.Pissa)
        {
            ulong seed = 0;
            if (config.PissaNiter > 0)
                using (var draw = torch.randint(long.MaxValue, [1], dtype: ScalarType.Int64, generator: generator)) seed = (ulong)draw.item<long>();
            (fa, fb) = Combine.ResidualFactors.Pissa(w64, outDim, inDim, r, s, config.PissaNiter, seed);
        }
        else (fa, fb) = Combine.ResidualFactors.Olora(w64, outDim, inDim, r);
        var residual = Combine.ResidualFactors.Residual(w64, fa, fb, outDim, inDim, r, s);
        using (var res = torch.tensor(residual, [outDim, inDim])) w.copy_(res);
        var (device, dtype) = AdapterPlacement();
        using var ta = torch.tensor(fa, [r, inDim]);
        using var tb = torch.tensor(fb, [outDim, r]);
        var adapter = Register(adapterName, config, ta.to(dtype, device, copy: true), tb.to(dtype, device, copy: true), null);
        adapter.Initial = (fa, fb);
        return adapter;
    }

    /// <summary>
    /// Hot swap: adapter <paramref name="adapterName"/> gets new A and B (and DoRA magnitude) of the same shapes and
    /// settings <paramref name="config"/> (same rank and variant; α may differ), as a new adapter module published
    /// with one reference write: a forward pass on another thread computes this layer with the old adapter or the new
    /// one, never a mix. The old adapter's parameters are left to the garbage collector (a pass in flight may still
    /// read them), so an optimizer over them must be rebuilt. A merged or PiSSA/OLoRA adapter is refused.
    /// </summary>
    public TorchLoraAdapter Replace(string adapterName, TorchLoraConfig config, Tensor a, Tensor b, Tensor? magnitude = null)
    {
        CheckLoaded();
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        config.Validate($"{Name} adapter '{adapterName}'");
        var old = Get(adapterName);
        if (_merged.Contains(adapterName)) throw new InvalidOperationException($"{Name}: adapter '{adapterName}' is merged; Unmerge() before swapping it.");
        if (old.Initial is not null) throw new InvalidOperationException($"{Name}: adapter '{adapterName}' is relative to {old.Config.Init} residual weights; a file's plain LoRA cannot be swapped into it.");
        if (config.Rank != old.Config.Rank || config.UseDora != old.Config.UseDora
            || !a.shape.SequenceEqual(old.MatrixA.shape) || !b.shape.SequenceEqual(old.MatrixB.shape)
            || (magnitude is null) != (old.Magnitude is null) || (magnitude is not null && !magnitude.shape.SequenceEqual(old.Magnitude!.shape)))
            throw new ArgumentException($"{Name}: a hot swap needs adapter '{adapterName}''s rank, variant and shapes (A [{string.Join(", ", old.MatrixA.shape)}], B [{string.Join(", ", old.MatrixB.shape)}]).");
        var (device, dtype) = AdapterPlacement();
        Tensor ca, cb;
        Tensor? cm;
        using (torch.no_grad())
        {
            ca = a.to(dtype, device, copy: true).detach();
            cb = b.to(dtype, device, copy: true).detach();
            cm = magnitude?.to(dtype, device, copy: true).detach();
        }
        var adapter = new TorchLoraAdapter(adapterName, Kind, config, ca, cb, cm);
        adapter.train(old.training);
        adapter.MatrixA.requires_grad = old.MatrixA.requires_grad;
        adapter.MatrixB.requires_grad = old.MatrixB.requires_grad;
        if (adapter.Magnitude is { } m) m.requires_grad = old.Magnitude!.requires_grad;
        _adapters = new Dictionary<string, TorchLoraAdapter>(_adapters, StringComparer.Ordinal) { [adapterName] = adapter };
        register_module(adapterName, null!);   // TorchSharp: registering null removes the child; then the new one takes its name
        register_module(adapterName, adapter);
        return adapter;
    }

    /// <summary>Removes an adapter (unmerging everything first if it is merged) and disposes its parameters.</summary>
    public void Remove(string adapterName)
    {
        CheckLoaded();
        var adapter = Get(adapterName);
        if (_merged.Contains(adapterName)) Unmerge();
        var without = new Dictionary<string, TorchLoraAdapter>(_adapters, StringComparer.Ordinal);
        without.Remove(adapterName);
        _adapters = without;
        _active.Remove(adapterName);
        register_module(adapterName, null!);   // TorchSharp: registering null removes the child
        adapter.Dispose();
    }

    /// <summary>Makes exactly these adapters active (in this order).</summary>
    public void SetActive(params string[] adapterNames)
    {
        foreach (var n in adapterNames) Get(n);
        _active.Clear();
        _active.AddRange(adapterNames.Distinct(StringComparer.Ordinal));
    }

    /// <summary>ΔW of adapter <paramref name="adapterName"/> in the base weight's layout ([out, in] or [num_embeddings, dim]), in the adapter's dtype; the caller disposes it.</summary>
    public Tensor DeltaWeight(string adapterName)
    {
        var ad = Get(adapterName);
        using var _ = torch.no_grad();
        var a = ad.MatrixA;
        var b = ad.MatrixB;
        using var ba = b.matmul(a);   // [out, in] or [dim, num_embeddings]
        if (Kind == LayerKind.Linear) return ba.mul(ad.Scaling);
        using var t = ba.t();
        return t.mul(ad.Scaling).contiguous();
    }

    /// <summary>
    /// Folds the given adapters (default: the active ones) into the base weight, W += ΔW, under <c>no_grad</c>.
    /// Adapters already merged are skipped, so merging twice is a no-op. With <paramref name="safe"/>, the sum is
    /// computed aside and checked for NaN/Inf first; a bad sum throws <see cref="TorchLoraMergeException"/> and W is
    /// left unchanged.
    /// </summary>
    public void Merge(bool safe = false, IEnumerable<string>? adapterNames = null)
    {
        CheckLoaded();
        var names = (adapterNames ?? _active).ToList();
        foreach (var n in names) Get(n);
        using var _ = torch.no_grad();
        foreach (var name in names)
        {
            if (_merged.Contains(name)) continue;
            using var w = BaseWeight();
            using var delta = DeltaWeight(name);
            using var d = _adapters[name].Magnitude is { } m
                ? TorchDora.MergeIncrement(Kind, w, delta, m)   // DoRA: W' − W with W' = m/‖W + ΔW‖ ⊙ (W + ΔW)
                : delta.to(w.dtype, w.device);
            _saved ??= w.detach().clone().DetachFromDisposeScope();
            AddToWeight(w, d, safe, Name, name);
            _merged.Add(name);
        }
    }

    /// <summary>
    /// w += d in place (no grad); with <paramref name="safe"/>, only when the sum is finite everywhere — otherwise a
    /// <see cref="TorchLoraMergeException"/> naming <paramref name="layer"/> and <paramref name="adapter"/>, w unchanged.
    /// The one merge step of every TorchSharp adapter layer (LoRA/DoRA and VeRA/NoLA).
    /// </summary>
    internal static void AddToWeight(Tensor w, Tensor d, bool safe, string layer, string adapter)
    {
        if (!safe)
        {
            w.add_(d);
            return;
        }
        using var candidate = w.add(d);
        using var finite = candidate.isfinite();
        using var bad = finite.logical_not().sum();
        long count = bad.item<long>();
        if (count > 0)
            throw new TorchLoraMergeException(layer, adapter,
                $"merging would put {count} NaN/Inf value(s) into the weight [{string.Join(", ", w.shape)}]; the weight was left unchanged.");
        w.copy_(candidate);
    }

    /// <inheritdoc/>
    void ITorchAdapterLayer.Merge(bool safe) => Merge(safe);

    /// <summary>Undoes every merge: W is restored bit for bit from the copy the first <see cref="Merge"/> took (under <c>no_grad</c>).</summary>
    public void Unmerge()
    {
        CheckLoaded();
        if (_saved is { } saved)
        {
            using var _ = torch.no_grad();
            using var w = BaseWeight();
            if (_merged.Count > 0) w.copy_(saved);   // (a refused first safe merge leaves a copy and nothing merged)
            saved.Dispose();
            _saved = null;
        }
        _merged.Clear();
    }

    /// <summary>
    /// Takes LoRA off the layer: with <paramref name="merge"/>, the active adapters are merged into W first (PEFT's
    /// merge_and_unload); without, every merge is undone (PEFT's unload). Then the hook is removed, the layer's
    /// weight and bias get back their former requires_grad, this module is unregistered from the owner and its
    /// adapters are disposed.
    /// </summary>
    public void Unload(bool merge = false)
    {
        CheckLoaded();
        if (merge) Merge();
        else Unmerge();
        _saved?.Dispose();
        _saved = null;
        _hook!.remove();
        _hook = null;
        Hooked.Remove(_target);
        var byName = _target.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var (pname, requiresGrad) in _frozen)
            if (byName.TryGetValue(pname, out var p)) p.requires_grad = requiresGrad;
        _owner.register_module(Name, null!);
        foreach (var name in _adapters.Keys.ToList())
        {
            register_module(name, null!);
            _adapters[name].Dispose();
        }
        _adapters = new Dictionary<string, TorchLoraAdapter>(StringComparer.Ordinal);
        _active.Clear();
        _merged.Clear();
    }

    /// <summary>Registration is explicit; nothing is registered by reflection (the owner and the layer are held, not children).</summary>
    protected override void RegisterComponents() { }

    private Tensor Hook(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (Disabled || _active.Count == 0) return output;
        var adapters = _adapters;   // one read: a hot swap on another thread publishes a new set and leaves this one whole
        Tensor result = output;
        foreach (var name in _active.ToArray())
        {
            if (_merged.Contains(name) || !adapters.TryGetValue(name, out var ad)) continue;
            var next = Kind == LayerKind.Linear
                ? (ad.Magnitude is null ? AddLinear(ad, input, result) : AddDoraLinear(ad, input, result))
                : AddEmbedding(ad, input, result);
            if (!ReferenceEquals(result, output)) result.Dispose();
            result = next;
        }
        if (result.dtype != output.dtype)
        {
            // A half-precision base with fp32 adapters: the sum was formed in fp32; return the layer's own dtype (as PEFT).
            var cast = result.to(output.dtype);
            result.Dispose();
            result = cast;
        }
        return result;
    }

    /// <summary>y + s · B(A(dropout(x))), with x cast to the adapter's dtype.</summary>
    private static Tensor AddLinear(TorchLoraAdapter ad, Tensor x, Tensor y)
    {
        var a = ad.MatrixA;
        var b = ad.MatrixB;
        var xa = x.dtype == a.dtype ? x : x.to(a.dtype);
        var dropped = ad.DropoutModule is { } dropout ? dropout.call(xa) : xa;
        try
        {
            using var h = nn.functional.linear(dropped, a);   // [..., r]
            using var up = nn.functional.linear(h, b);        // [..., out]
            using var scaled = up.mul(ad.Scaling);
            return y.add(scaled);
        }
        finally
        {
            if (!ReferenceEquals(dropped, xa)) dropped.Dispose();
            if (!ReferenceEquals(xa, x)) xa.Dispose();
        }
    }

    /// <summary>DoRA: y + (k − 1) ⊙ (x̃·Wᵀ) + k ⊙ s·B(A(x̃)), x̃ = dropout(x), k = m/‖W + s·BA‖ (see <see cref="TorchDora"/>).</summary>
    private Tensor AddDoraLinear(TorchLoraAdapter ad, Tensor x, Tensor y)
    {
        var dtype = ad.MatrixA.dtype;
        using var w = BaseWeight();
        using var wa = w.to(dtype);
        var xa = x.dtype == dtype ? x : x.to(dtype);
        var dropped = ad.DropoutModule is { } dropout ? dropout.call(xa) : xa;
        try
        {
            return TorchDora.AddLinear(wa, dropped, ad, y);
        }
        finally
        {
            if (!ReferenceEquals(dropped, xa)) dropped.Dispose();
            if (!ReferenceEquals(xa, x)) xa.Dispose();
        }
    }

    /// <summary>y + s · Aᵀ[ids] · Bᵀ (no dropout, as PEFT); the padding row of Aᵀ gets no gradient. DoRA: k ⊙ (y + e).</summary>
    private Tensor AddEmbedding(TorchLoraAdapter ad, Tensor ids, Tensor y)
    {
        var a = ad.MatrixA;
        var b = ad.MatrixB;
        using var flat = ids.reshape(-1);
        using var at = a.t();                               // [num_embeddings, r]
        using var rows = at.index_select(0, flat);          // [n, r]
        Tensor gathered = rows;
        if (_paddingIdx is long pad)
        {
            using var isPad = flat.eq(pad).unsqueeze(1);
            using var frozen = rows.detach();
            gathered = torch.where(isPad, frozen, rows);
        }
        try
        {
            using var h = gathered.reshape([.. ids.shape, a.shape[0]]);   // [..., r]
            using var up = nn.functional.linear(h, b);                   // [..., dim]
            using var scaled = up.mul(ad.Scaling);
            if (ad.Magnitude is null) return y.add(scaled);
            using var w = BaseWeight();
            using var wa = w.to(a.dtype);
            return TorchDora.EmbeddingOutput(wa, ad, y, scaled);
        }
        finally
        {
            if (!ReferenceEquals(gathered, rows)) gathered.Dispose();
        }
    }

    private TorchLoraAdapter Register(string adapterName, TorchLoraConfig config, Tensor a, Tensor b, Tensor? magnitude)
    {
        var adapter = new TorchLoraAdapter(adapterName, Kind, config, a, b, magnitude);
        adapter.train(training);
        register_module(adapterName, adapter);
        _adapters = new Dictionary<string, TorchLoraAdapter>(_adapters, StringComparer.Ordinal) { [adapterName] = adapter };
        if (_active.Count == 0) _active.Add(adapterName);
        return adapter;
    }

    private void CheckNew(string adapterName, TorchLoraConfig config)
    {
        CheckLoaded();
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(adapterName);
        if (adapterName.Contains('.')) throw new ArgumentException($"{Name}: an adapter name cannot contain '.', got '{adapterName}'.", nameof(adapterName));
        config.Validate($"{Name} adapter '{adapterName}'");
        if (_adapters.ContainsKey(adapterName)) throw new InvalidOperationException($"{Name}: an adapter named '{adapterName}' already exists.");
    }

    private void CheckLoaded()
    {
        if (_hook is null) throw new InvalidOperationException($"{Name}: LoRA was unloaded from this layer.");
    }

    private TorchLoraAdapter Get(string adapterName) =>
        _adapters.TryGetValue(adapterName, out var ad) ? ad
            : throw new KeyNotFoundException($"{Name}: no adapter named '{adapterName}' (have: {string.Join(", ", _adapters.Keys)}).");

    private (Device Device, ScalarType DType) AdapterPlacement()
    {
        using var w = BaseWeight();
        return (w.device, TorchLoraAdapter.AdapterDType(w.dtype));
    }

    /// <summary>
    /// A new handle to the base weight (same storage, so in-place updates reach the layer); the caller disposes it.
    /// Read on every use: converting the owner replaces a Linear's weight parameter.
    /// </summary>
    private Tensor BaseWeight() => _target is Linear linear
        ? linear.weight.alias()
        : ((Embedding)_target).weight ?? throw new InvalidOperationException($"{Name}: the embedding has no weight.");
}
