using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// VeRA and NoLA on one TorchSharp <see cref="Linear"/>, the counterpart of <see cref="TorchLoraLayer"/> (and of the
/// managed backend's <c>BasisSlot</c>): a forward hook adds the active adapter's contribution, the named
/// <see cref="TorchBasisAdapter"/>s are children of this module, and this module is registered on the module that owns
/// the Linear (so <c>to()</c>, <c>train()</c>, <c>parameters()</c> and <c>state_dict()</c> reach them). Attaching
/// freezes the Linear. One adapter computes at a time. Merging folds its ΔW into W under <c>no_grad</c> after copying
/// W; <see cref="Unmerge"/> writes the copy back bit for bit. A layer holds either LoRA adapters or these, not both.
/// </summary>
public sealed class TorchBasisLayer : nn.Module, ITorchAdapterLayer
{
    /// <summary>The suffix of the layer's registered name: <c>q_proj</c> gets <c>q_proj_basis</c>.</summary>
    public const string NameSuffix = "_basis";

    private readonly nn.Module _owner;
    private readonly Linear _target;
    private readonly List<(string Name, bool RequiresGrad)> _frozen = [];
    private volatile Dictionary<string, TorchBasisAdapter> _adapters = new(StringComparer.Ordinal);   // copy-on-write, read once per pass
    private string? _active;
    private string? _merged;
    private Tensor? _saved;
    private nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover? _hook;

    private TorchBasisLayer(nn.Module owner, Linear target, string targetPath) : base(nameof(TorchBasisLayer))
    {
        _owner = owner;
        _target = target;
        TargetPath = targetPath;
        Name = targetPath.Replace('.', '_') + NameSuffix;
        var shape = target.weight!.shape;
        (OutFeatures, InFeatures) = (shape[0], shape[1]);
        owner.register_module(Name, this);
        foreach (var (pname, p) in target.named_parameters())
        {
            _frozen.Add((pname, p.requires_grad));
            p.requires_grad = false;
        }
        _hook = target.register_forward_hook(Hook);
    }

    /// <summary>Attaches to <paramref name="target"/>, a Linear registered under <paramref name="owner"/> at <paramref name="targetPath"/>.</summary>
    internal static TorchBasisLayer Attach(nn.Module owner, Linear target, string targetPath) => new(owner, target, targetPath);

    /// <summary>The name this layer is registered under on its owner.</summary>
    public string Name { get; }

    /// <summary>The adapted Linear's path under the owner.</summary>
    public string TargetPath { get; }

    /// <summary>The adapted Linear (held, not registered).</summary>
    public Linear Target => _target;

    /// <summary>in_features.</summary>
    public long InFeatures { get; }

    /// <summary>out_features.</summary>
    public long OutFeatures { get; }

    /// <summary>The adapters by name.</summary>
    public IReadOnlyDictionary<string, TorchBasisAdapter> Adapters => _adapters;

    /// <summary>The adapter that computes, or null.</summary>
    public string? Active => _active;

    /// <inheritdoc/>
    public bool IsMerged => _merged is not null;

    /// <inheritdoc/>
    public bool Disabled { get; set; }

    /// <summary>Adds an adapter; it becomes active if none is.</summary>
    internal void Add(TorchBasisAdapter adapter)
    {
        if (_adapters.ContainsKey(adapter.Name)) throw new InvalidOperationException($"{Name}: an adapter named '{adapter.Name}' already exists.");
        adapter.train(training);
        register_module(adapter.Name, adapter);
        _adapters = new Dictionary<string, TorchBasisAdapter>(_adapters, StringComparer.Ordinal) { [adapter.Name] = adapter };
        _active ??= adapter.Name;
    }

    /// <summary>Makes <paramref name="name"/> the computing adapter (null, or a name this layer lacks: none computes).</summary>
    public void SetActive(string? name)
    {
        if (IsMerged) throw new InvalidOperationException("Unmerge before switching adapters.");
        _active = name is not null && _adapters.ContainsKey(name) ? name : null;
    }

    /// <summary>Removes an adapter (unmerging first if it is merged) and disposes it.</summary>
    public void Remove(string name)
    {
        if (!_adapters.TryGetValue(name, out var adapter)) return;
        if (_merged == name) Unmerge();
        var without = new Dictionary<string, TorchBasisAdapter>(_adapters, StringComparer.Ordinal);
        without.Remove(name);
        _adapters = without;
        if (_active == name) _active = null;
        register_module(name, null!);   // TorchSharp: registering null removes the child
        adapter.Dispose();
    }

    /// <inheritdoc/>
    public void Merge(bool safe = false)
    {
        if (_merged is not null || _active is null) return;
        var name = _active;
        using var _ = torch.no_grad();
        using var w = _target.weight!.alias();
        using var delta = _adapters[name].Delta();
        using var d = delta.to(w.dtype, w.device);
        _saved ??= w.detach().clone().DetachFromDisposeScope();
        TorchLoraLayer.AddToWeight(w, d, safe, Name, name);
        _merged = name;
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        if (_saved is { } saved)
        {
            using var _ = torch.no_grad();
            using var w = _target.weight!.alias();
            if (_merged is not null) w.copy_(saved);
            saved.Dispose();
            _saved = null;
        }
        _merged = null;
    }

    /// <summary>
    /// Takes the adapters off: with <paramref name="merge"/> the active one is merged first; then the hook goes, the
    /// Linear's parameters get back their former requires_grad, and this module is unregistered and its adapters disposed.
    /// </summary>
    public void Unload(bool merge = false)
    {
        if (_hook is null) return;
        if (merge) Merge();
        else Unmerge();
        _saved?.Dispose();
        _saved = null;
        _merged = null;
        _hook.remove();
        _hook = null;
        var byName = _target.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var (pname, requiresGrad) in _frozen)
            if (byName.TryGetValue(pname, out var p)) p.requires_grad = requiresGrad;
        _owner.register_module(Name, null!);
        foreach (var (name, adapter) in _adapters)
        {
            register_module(name, null!);
            adapter.Dispose();
        }
        _adapters = new Dictionary<string, TorchBasisAdapter>(StringComparer.Ordinal);
        _active = null;
    }

    /// <summary>Registration is explicit; nothing is registered by reflection.</summary>
    protected override void RegisterComponents() { }

    private Tensor Hook(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        var adapters = _adapters;   // one read
        var active = _active;
        if (Disabled || _merged is not null || active is null || !adapters.TryGetValue(active, out var ad)) return output;
        var dtype = ad.First.dtype;
        var x = input.dtype == dtype ? input : input.to(dtype);
        try
        {
            using var c = ad.Contribution(x);
            if (output.dtype == dtype) return output.add(c);
            using var sum = output.to(dtype).add(c);   // a half-precision base: summed in fp32, returned in the layer's dtype (as PEFT)
            return sum.to(output.dtype);
        }
        finally
        {
            if (!ReferenceEquals(x, input)) x.Dispose();
        }
    }
}
