using System.Globalization;
using LoraGen.Combine;
using LoraGen.Contract;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// The <c>Lora</c> facade of a TorchSharp <c>[LoraModel]</c> root, with the managed backend's names and semantics
/// (<see cref="ILoraFacade"/>): <see cref="Attach"/>, <see cref="Summary"/>, <see cref="Merge"/>, <see cref="Unmerge"/>,
/// <see cref="MergeAndUnload"/>, named adapters, <see cref="Disable"/>, and <see cref="Save"/>/<see cref="Load"/> through
/// the PEFT unit (the same file bytes as the managed backend for the same weights). Targets are the <c>[Lora]</c>
/// fields (<see cref="ITorchLoraFields"/>, found by identity in the registered module tree) and every Linear/Embedding
/// whose path matches <see cref="TorchLoraModelOptions.Targets"/>. LoRA runs in a forward hook, so the model's
/// <c>call()</c> is unchanged.
/// </summary>
public sealed partial class TorchLoraModelController : ILoraFacade
{
    private readonly nn.Module _model;
    private readonly List<string> _names = [];
    private readonly Dictionary<string, AdapterConfig?> _selection = new(StringComparer.Ordinal);   // each adapter's layer selection, written back on save
    private string? _active;

    /// <summary>Creates the facade for <paramref name="model"/>.</summary>
    public TorchLoraModelController(nn.Module model, TorchLoraModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        Options = options;
    }

    /// <summary>The root's <c>[LoraModel]</c> settings.</summary>
    public TorchLoraModelOptions Options { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Names => _names;

    /// <inheritdoc/>
    public string? Active => _active;

    /// <summary>
    /// The layers the model adapts: every <c>[Lora]</c> field, plus every Linear/Embedding whose path matches
    /// <see cref="TorchLoraModelOptions.Targets"/> (with rank/alpha patterns applied). Paths are dotted, with indices.
    /// </summary>
    public IReadOnlyList<TorchLoraTarget> Targets()
    {
        var targets = new List<TorchLoraTarget>();
        foreach (var l in AllLayers())
        {
            if (l.Spec is { } spec) targets.Add(new TorchLoraTarget(l.Path, l.Owner, l.Layer, l.Kind, spec.Config, spec.Bias));
            else if (Options.Targets.Any(t => ModulePath.Matches(l.Path, t)))
                targets.Add(new TorchLoraTarget(l.Path, l.Owner, l.Layer, l.Kind, ByName(l.Path), Options.Bias));
        }
        return targets;
    }

    private TorchLoraConfig ByName(string path)
    {
        var cfg = Options.Defaults;
        foreach (var (name, r) in Options.RankPattern) if (ModulePath.Matches(path, name)) { cfg = cfg with { Rank = r }; break; }
        foreach (var (name, a) in Options.AlphaPattern) if (ModulePath.Matches(path, name)) { cfg = cfg with { Alpha = a }; break; }
        return cfg;
    }

    private sealed record Candidate(string Path, nn.Module Owner, nn.Module<Tensor, Tensor> Layer, LayerKind Kind, TorchLoraFieldSpec? Spec);

    /// <summary>Every base Linear/Embedding under the root, with its owner and its <c>[Lora]</c> settings (null when none), in module order.</summary>
    private List<Candidate> AllLayers()
    {
        var byPath = new Dictionary<string, nn.Module>(StringComparer.Ordinal) { [""] = _model };
        var specs = new Dictionary<nn.Module, TorchLoraFieldSpec>(ReferenceEqualityComparer.Instance);
        if (_model is ITorchLoraFields rootFields) AddSpecs(rootFields, specs);
        var loraPrefixes = new List<string>();
        var found = new List<Candidate>();
        foreach (var (path, module) in _model.named_modules())
        {
            byPath[path] = module;
            if (module is TorchLoraLayer or TorchBasisLayer) { loraPrefixes.Add(path + "."); continue; }
            if (loraPrefixes.Any(p => path.StartsWith(p, StringComparison.Ordinal))) continue;
            if (module is ITorchLoraFields fields) AddSpecs(fields, specs);
            LayerKind? kind = module switch { Linear => LayerKind.Linear, Embedding => LayerKind.Embedding, _ => null };
            if (kind is null) continue;
            int dot = path.LastIndexOf('.');
            var owner = byPath[dot < 0 ? "" : path[..dot]];
            found.Add(new Candidate(path, owner, (nn.Module<Tensor, Tensor>)module, kind.Value, null));
        }
        return found.Select(c => specs.TryGetValue(c.Layer, out var s) ? c with { Spec = s } : c).ToList();
    }

    private static void AddSpecs(ITorchLoraFields fields, Dictionary<nn.Module, TorchLoraFieldSpec> specs)
    {
        foreach (var (layer, spec) in fields.LoraFields())
            if (layer is not null) specs[layer] = spec;
    }

    private Dictionary<string, TorchLoraLayer> LoraLayers() =>
        TorchLoraModules.Layers(_model).ToDictionary(l => l.ModulePath, l => l.Layer, StringComparer.Ordinal);

    private static TorchLoraLayer AttachTo(Candidate c) => c.Kind == LayerKind.Linear
        ? TorchLoraLayer.Attach(c.Owner, (Linear)c.Layer)
        : TorchLoraLayer.Attach(c.Owner, (Embedding)c.Layer);

    /// <summary>
    /// Freezes the base model and adds adapter <paramref name="name"/> to every target: B = 0 (A = 0 for
    /// embeddings), so outputs are unchanged until training (PiSSA/OLoRA: A and B from W, W rewritten to the residual,
    /// outputs unchanged too; DoRA: the magnitude starts at ‖W + s·BA‖). A is drawn from a generator seeded with
    /// <paramref name="seed"/>. The first adapter becomes active. <paramref name="config"/> overrides the compile-time
    /// settings for this adapter; a bad value throws <see cref="ArgumentException"/> before anything changes.
    /// </summary>
    /// <exception cref="NotSupportedException"><c>[LoraModel(BaseQuantization = LoraBaseQuantization.Int8)]</c> (the managed backend's format), before anything changes.</exception>
    public TorchLoraModelController Attach(string name = "default", ulong seed = 0, TorchLoraOverride? config = null)
    {
        RefuseUnkeptCompileTimeQuantization();   // Int8 is the managed backend's: refused before anything changes
        var held = MaterializeBases();   // a low-precision base reads as fp32 while adapters initialise from W (DoRA, PiSSA)
        try { AttachCore(name, seed, config); }
        finally { ReleaseBases(held); }
        ApplyCompileTimeQuantization();   // [LoraModel(BaseQuantization)]
        return this;
    }

    private void AttachCore(string name, ulong seed, TorchLoraOverride? config)
    {
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached.");
        var selection = config?.Selection();
        var targets = TargetsFor(config, selection);
        if (config is not null) targets = targets.Select(t => t with { Config = config.Apply(t.Config) }).ToList();
        if (targets.Count == 0)
            throw new InvalidOperationException($"{_model.GetName()} has no LoRA target: mark Linear/Embedding fields with [Lora] or list them in [LoraModel(Targets = ...)].");
        foreach (var t in targets) t.Config.Validate(t.Path);
        var variant = targets[0].Config.Variant;
        if (targets.FirstOrDefault(t => t.Config.Variant != variant) is { } mixed)
            throw new InvalidOperationException($"Adapter '{name}' would be {variant} on '{targets[0].Path}' and {mixed.Config.Variant} on '{mixed.Path}'; the variant is one setting per adapter. " +
                "Set Variant alike on every [Lora] and [LoraModel], or pass config: new() { Variant = ... }. Nothing was changed.");
        if (variant != LoraVariant.Lora)
        {
            AttachBasis(name, seed, config, targets, variant);
            return;
        }
        var basisPaths = BasisLayers().Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        if (targets.FirstOrDefault(t => basisPaths.Contains(t.Path)) is { } shared)
            throw new InvalidOperationException($"{shared.Path}: the layer already holds VeRA/NoLA adapters; LoRA and VeRA/NoLA adapters cannot share a layer. Nothing was changed.");
        if (targets.Any(t => t.Config.UseDora) && targets.FirstOrDefault(t => !t.Config.UseDora) is { } plain)
            throw new InvalidOperationException($"Adapter '{name}' would be DoRA on some layers and plain LoRA on '{plain.Path}'; PEFT's {ConfigFields.UseDora} is one setting per adapter. Nothing was changed.");
        if (targets.FirstOrDefault(t => t.Config.Init is LoraInit.Pissa or LoraInit.Olora && t.Kind != LayerKind.Linear) is { } emb)
            throw new InvalidOperationException($"{emb.Path}: {emb.Config.Init} initialisation applies to Linear layers only (as PEFT). Nothing was changed.");
        if (targets.FirstOrDefault(t => t.Config.Init is LoraInit.Pissa or LoraInit.Olora && t.Config.Rank > Math.Min(WeightShape(t.Layer)[0], WeightShape(t.Layer)[1])) is { } big)
            throw new InvalidOperationException($"{big.Path}: {big.Config.Init} needs rank ≤ min(out, in), got {big.Config.Rank}. Nothing was changed.");
        var existing = LoraLayers();
        if (targets.Any(t => t.Config.Init is LoraInit.Pissa or LoraInit.Olora && existing.TryGetValue(t.Path, out var l) && l.IsMerged))
            throw new InvalidOperationException("Unmerge() before a PiSSA/OLoRA initialisation (it rewrites the base weights). Nothing was changed.");
        var candidates = AllLayers().ToDictionary(c => c.Path, StringComparer.Ordinal);
        using var generator = new Generator(seed ^ 0x4C6F5241UL);
        foreach (var t in targets)
        {
            var layer = existing.TryGetValue(t.Path, out var l) ? l : AttachTo(candidates[t.Path]);
            var ad = layer.Add(name, t.Config, generator);
            if (config?.FreezeA == true && t.Kind == LayerKind.Linear) ad.MatrixA.requires_grad = false;   // LoRA-FA
        }
        TorchLoraModules.FreezeBase(_model);
        ApplyBias(targets);
        Register(name);
        _selection[name] = selection;
        SyncBasisActive();
    }

    /// <summary>
    /// The targets of a new adapter: the declared ones, or those <paramref name="config"/> names (by
    /// <see cref="AdapterConfig.SelectLayers"/>), narrowed by its exclusions and layer indices.
    /// </summary>
    private List<TorchLoraTarget> TargetsFor(TorchLoraOverride? config, AdapterConfig? selection)
    {
        var declared = Targets().ToList();
        if (selection is null) return declared;
        var all = AllLayers();
        List<TorchLoraTarget> targets;
        if (config!.TargetRegex is not null || config.TargetModules is not null)
        {
            if (config.TargetModules is { } names && names.Where(n => !all.Any(l => ModulePath.Matches(l.Path, n))).ToList() is { Count: > 0 } missing)
                throw new ArgumentException($"LoRA override: {nameof(TorchLoraOverride.TargetModules)} names {string.Join(", ", missing.Select(m => $"'{m}'"))}, which match no Linear/Embedding layer (its layers: {string.Join(", ", all.Select(l => l.Path))}).");
            var chosen = selection.SelectLayers(all.Select(l => (l.Path, l.Kind)).ToList()).ToHashSet(StringComparer.Ordinal);
            targets = all.Where(l => chosen.Contains(l.Path))
                .Select(l => declared.Find(d => d.Path == l.Path) ?? new TorchLoraTarget(l.Path, l.Owner, l.Layer, l.Kind, ByName(l.Path), Options.Bias))
                .ToList();
        }
        else targets = declared.Where(t => !selection.IsExcluded(t.Path) && selection.IsInSelectedLayers(t.Path)).ToList();
        if (targets.Count == 0)
            throw new ArgumentException($"LoRA override: the layer selection leaves no layer to adapt (layers: {string.Join(", ", all.Select(l => l.Path))}).");
        return targets;
    }

    ILoraFacade ILoraFacade.Attach(string name, ulong seed) => Attach(name, seed);

    private void ApplyBias(IReadOnlyList<TorchLoraTarget> targets)
    {
        foreach (var t in targets)
        {
            if (t.Bias == LoraBias.All)
            {
                foreach (var (n, p) in _model.named_parameters())
                    if (n == "bias" || n.EndsWith(".bias", StringComparison.Ordinal)) p.requires_grad = true;
            }
            else if (t.Bias == LoraBias.LoraOnly && t.Layer is Linear { bias: { } b }) b.requires_grad = true;
        }
    }

    private void Register(string name)
    {
        _names.Add(name);
        _active ??= name;
    }

    /// <summary>
    /// The trainable parameters of the active adapter (A, B and DoRA's magnitude of every adapted layer; A is left out
    /// under LoRA-FA), for the optimizer.
    /// </summary>
    public IEnumerable<Parameter> Parameters() => TrainableByPart().Where(t => t.Part is not null).Select(t => t.Parameter).Concat(BasisParameters());

    /// <summary>
    /// The base parameters left trainable (the bias setting's), with null kind and part, then what
    /// <see cref="Parameters"/> returns, each with its layer kind and part: the split LoRA+ groups by.
    /// </summary>
    internal List<(Parameter Parameter, LayerKind? Kind, AdapterKeyPart? Part)> TrainableByPart()
    {
        var layers = TorchLoraModules.Layers(_model).ToList();
        var adapterParams = new HashSet<Parameter>(layers.SelectMany(l => l.Layer.Adapters.Values.SelectMany(a => a.Trainable()))
            .Concat(BasisLayers().SelectMany(l => l.Layer.Adapters.Values.SelectMany(a => a.Trainable()))), ReferenceEqualityComparer.Instance);
        var result = _model.parameters().Where(p => p.requires_grad && !adapterParams.Contains(p))
            .Select(p => (p, (LayerKind?)null, (AdapterKeyPart?)null)).ToList();
        if (_active is null) return result;
        foreach (var (_, layer) in layers)
        {
            if (!layer.Adapters.TryGetValue(_active, out var ad)) continue;
            if (ad.MatrixA.requires_grad) result.Add((ad.MatrixA, layer.Kind, AdapterKeyPart.A));
            if (ad.MatrixB.requires_grad) result.Add((ad.MatrixB, layer.Kind, AdapterKeyPart.B));
            if (ad.Magnitude is { requires_grad: true } m) result.Add((m, layer.Kind, AdapterKeyPart.Magnitude));
        }
        return result;
    }

    /// <inheritdoc/>
    public string Summary()
    {
        long trainable = 0, all = 0;
        foreach (var p in _model.parameters())
        {
            all += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        double pct = all == 0 ? 0 : 100.0 * trainable / all;
        return string.Create(CultureInfo.InvariantCulture, $"trainable params: {trainable:N0} || all params: {all:N0} || trainable%: {pct:F4}");
    }

    /// <inheritdoc/>
    public void SetActive(string name)
    {
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}' (have: {string.Join(", ", _names)}).");
        var layers = LoraLayers().Values.ToList();
        if (layers.Any(s => s.IsMerged) || BasisLayers().Any(l => l.Layer.IsMerged)) throw new InvalidOperationException("Unmerge before switching adapters.");
        foreach (var layer in layers) if (layer.Adapters.ContainsKey(name)) layer.SetActive(name);
        _active = name;
        SyncBasisActive();
    }

    /// <inheritdoc/>
    public void Delete(string name)
    {
        if (!_names.Remove(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        _selection.Remove(name);
        foreach (var layer in LoraLayers().Values) if (layer.Adapters.ContainsKey(name)) layer.Remove(name);
        foreach (var (_, layer) in BasisLayers()) layer.Remove(name);
        _basis.Remove(name);
        if (_active == name)
        {
            _active = _names.FirstOrDefault();
            if (_active is not null) SetActive(_active);
        }
    }

    /// <inheritdoc/>
    public void Merge(bool safe = false)
    {
        var layers = AdapterLayers().ToList();
        if (layers.Count == 0) return;
        var held = MaterializeBases();   // a low-precision base is merged into its dequantized fp32 copy (exact)
        try { foreach (var layer in layers) layer.Merge(safe); }
        finally { if (!IsMerged) ReleaseBases(held); }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        foreach (var layer in AdapterLayers()) layer.Unmerge();
        ReleaseBases(_quantized.Values);   // W is bit-identical to the dequantized copy again: the same low-precision bytes
    }

    /// <inheritdoc/>
    public bool IsMerged => AdapterLayers().Any(s => s.IsMerged);

    /// <inheritdoc/>
    public void MergeAndUnload(bool safe = false)
    {
        Merge(safe);
        foreach (var layer in LoraLayers().Values) layer.Unload(merge: true);
        foreach (var (_, layer) in BasisLayers()) layer.Unload(merge: true);
        _requantized.Clear();
        _requantized.AddRange(ReleaseBases(_quantized.Values));   // W + ΔW rounded to the low-precision format again (lossy)
        _names.Clear();
        _selection.Clear();
        _basis.Clear();
        _active = null;
    }

    /// <summary>
    /// PEFT's <c>unload()</c>: every merge is undone, then every adapter is removed without merging (each layer's hook
    /// goes, its weights get back their former requires_grad): the untouched base model.
    /// </summary>
    public void Unload()
    {
        foreach (var layer in LoraLayers().Values) layer.Unload(merge: false);
        foreach (var (_, layer) in BasisLayers()) layer.Unload(merge: false);
        ReleaseBases(_quantized.Values);
        _names.Clear();
        _selection.Clear();
        _basis.Clear();
        _active = null;
    }

    /// <summary>
    /// PEFT's <c>hotswap_adapter</c>: loads the adapter in <paramref name="directory"/> into the existing adapter
    /// <paramref name="name"/>, which must cover the same layers with the same ranks, shapes and variant (α may
    /// differ). Every key, shape and setting is checked and every tensor read before any layer changes; a mismatch
    /// throws <see cref="LoraAdapterException"/> and leaves the old adapter in place. Each layer then publishes its new
    /// adapter with one reference write (<see cref="TorchLoraLayer.Replace"/>), so a forward pass on another thread
    /// computes each layer with either the old or the new weights, never a torn mix, as on the managed backend. The
    /// adapter's parameters are new objects afterwards (rebuild an optimizer over <see cref="Parameters"/>).
    /// </summary>
    public void HotSwap(string directory, string name = "default")
    {
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}' to swap into.");
        if (_basis.TryGetValue(name, out var basis))
            throw new InvalidOperationException($"Adapter '{name}' is a {basis.Settings.Variant} adapter; the TorchSharp backend hot-swaps LoRA adapters only (Delete and Load it instead).");
        using var files = Open(directory);
        var cfg = files.Config;
        var file = files.Weights;
        var holding = TorchLoraModules.Layers(_model).Where(l => l.Layer.Adapters.ContainsKey(name)).ToList();
        var expected = new List<(string Key, long[] Shape)>();
        var problems = new List<string>();
        foreach (var (path, layer) in holding)
        {
            var ad = layer.Adapters[name];
            expected.Add((AdapterKeys.A(path, layer.Kind), ad.MatrixA.shape));
            expected.Add((AdapterKeys.B(path, layer.Kind), ad.MatrixB.shape));
            if (ad.Magnitude is { } m) expected.Add((AdapterKeys.Magnitude(path), m.shape));
            if (cfg.UseDora != ad.Config.UseDora)
                problems.Add($"{path}: {(cfg.UseDora ? "a DoRA" : "a plain LoRA")} adapter in the file, adapter '{name}' is not");
            if (cfg.RankFor(path) != ad.Config.Rank) problems.Add($"{path}: rank {cfg.RankFor(path)} in the file, {ad.Config.Rank} in adapter '{name}'");
            if (layer.MergedAdapters.Contains(name)) problems.Add($"{path}: adapter '{name}' is merged; Unmerge() before swapping");
            if (ad.Initial is not null) problems.Add($"{path}: adapter '{name}' is relative to {ad.Config.Init} residual weights");
        }
        var match = file.Match(expected);
        if (!match.IsExact)
            throw new LoraAdapterException(directory, $"cannot hot-swap into adapter '{name}'", match.Missing, match.Unexpected, match.Mismatched);
        if (problems.Count > 0) throw new LoraAdapterException(directory, $"cannot hot-swap into adapter '{name}': " + string.Join("; ", problems) + "; nothing was changed");
        var read = new List<(TorchLoraLayer Layer, TorchLoraConfig Config, Tensor A, Tensor B, Tensor? M)>();
        try
        {
            foreach (var (path, layer) in holding)
            {
                var ad = layer.Adapters[name];
                var config = ad.Config with { Alpha = cfg.AlphaFor(path), UseRsLora = cfg.UseRsLora, Dropout = cfg.LoraDropout };
                read.Add((layer, config, TorchSafetensors.ReadTensor(file, AdapterKeys.A(path, layer.Kind)), TorchSafetensors.ReadTensor(file, AdapterKeys.B(path, layer.Kind)),
                    ad.Magnitude is null ? null : TorchSafetensors.ReadTensor(file, AdapterKeys.Magnitude(path))));
            }
            foreach (var (layer, config, a, b, m) in read) layer.Replace(name, config, a, b, m);
        }
        finally
        {
            foreach (var (_, _, a, b, m) in read) { a.Dispose(); b.Dispose(); m?.Dispose(); }
        }
    }

    /// <inheritdoc/>
    public IDisposable Disable() => new TorchLoraDisableScope(AdapterLayers());

    // ------------------------------------------------------------------ PEFT adapter directories

    /// <summary>
    /// Writes adapter <paramref name="name"/> (default: the active one) to <paramref name="directory"/> in PEFT's
    /// layout as one unit, through <see cref="AdapterDirectory"/>: F32 tensors under PEFT keys and the config built by
    /// <see cref="AdapterConfig.FromLayers"/>, as the managed backend writes them.
    /// </summary>
    public void Save(string directory, string? name = null)
    {
        name ??= _active ?? throw new InvalidOperationException("No adapter to save: call Attach or Load first.");
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        if (TrySaveBasis(directory, name)) return;
        var bias = Options.Bias;
        foreach (var c in AllLayers())
            if (c.Spec is { } spec && spec.Bias > bias) bias = spec.Bias;
        var tensors = new List<SafetensorsEntry>();
        var settings = new List<AdapterLayerSettings>();
        foreach (var (path, layer) in TorchLoraModules.Layers(_model))
        {
            if (!layer.Adapters.TryGetValue(name, out var ad)) continue;
            var c = ad.Config;
            if (ad.Initial is { } initial)
            {
                // PiSSA/OLoRA: saved as plain LoRA relative to the original W (PEFT's path_initial_model_for_weight_conversion).
                int r = c.Rank, inDim = (int)layer.InFeatures, outDim = (int)layer.OutFeatures;
                var (pa, pb) = ResidualFactors.ToPlainLora(Floats(ad.MatrixA), Floats(ad.MatrixB), initial.A, initial.B, outDim, inDim, r);
                tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.A(path, layer.Kind), new long[] { 2 * r, inDim }, pa));
                tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.B(path, layer.Kind), new long[] { outDim, 2 * r }, pb));
                settings.Add(new AdapterLayerSettings(path, 2 * r, ResidualFactors.PlainAlpha(c.Alpha, c.UseRsLora), c.Dropout, c.UseRsLora, LoraInit.Kaiming, c.UseDora));
                continue;
            }
            tensors.Add(TorchSafetensors.ToEntry(AdapterKeys.A(path, layer.Kind), ad.MatrixA));
            tensors.Add(TorchSafetensors.ToEntry(AdapterKeys.B(path, layer.Kind), ad.MatrixB));
            if (ad.Magnitude is { } m) tensors.Add(TorchSafetensors.ToEntry(AdapterKeys.Magnitude(path), m));
            settings.Add(new AdapterLayerSettings(path, c.Rank, c.Alpha, c.Dropout, c.UseRsLora, c.Init, c.UseDora));
        }
        if (settings.Count == 0) throw new InvalidOperationException($"Adapter '{name}' has no layers.");
        var config = AdapterConfig.FromLayers(settings, bias, Options.BaseModelName)
            .SelectingExactly(settings.Select(l => l.Path).ToList(), AllLayers().Select(c => (c.Path, c.Kind)).ToList(), _selection.GetValueOrDefault(name));
        AdapterDirectory.Save(directory, config, tensors);
    }

    /// <summary>
    /// Loads a PEFT LoRA adapter directory (ours, the managed backend's or PEFT's) as adapter <paramref name="name"/>.
    /// Each layer gets the adapter's own rank and alpha (r, lora_alpha, rank_pattern, alpha_pattern, use_rslora).
    /// Missing, unexpected and mis-shaped keys are reported by name in a <see cref="LoraAdapterException"/>
    /// before anything changes. The base model is frozen; the adapter becomes active if none is.
    /// </summary>
    public void Load(string directory, string name = "default")
    {
        var held = MaterializeBases();
        try { LoadCore(directory, name); }
        finally { ReleaseBases(held); }
    }

    private void LoadCore(string directory, string name)
    {
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached; Delete it first or load under another name.");
        if (TryLoadBasis(directory, name)) return;
        using var files = Open(directory);
        var cfg = files.Config;
        if (cfg.InitLoraWeights.Method is { } method && (method.StartsWith(ConfigFields.InitPissa, StringComparison.Ordinal) || method == ConfigFields.InitOlora))
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: {ConfigFields.InitLoraWeights} is \"{method}\": this adapter's A and B are relative to the residual weights of that initialisation, not to the base model. " +
                "Save it converted to plain LoRA (PEFT: save_pretrained(path_initial_model_for_weight_conversion=...); LoraGen converts when it saves).");
        if (cfg.FanInFanOut)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: transposed ({ConfigFields.FanInFanOut}, Conv1D) layouts are not supported yet.");
        var unsupported = cfg.FieldsNotHonoured().ToList();
        if (cfg.ModulesToSave is { Count: > 0 }) unsupported.Add($"\"{ConfigFields.ModulesToSave}\" (full module copies; the managed backend loads them)");
        if (cfg.OtherFields.ContainsKey(ConfigFields.TrainableTokenIndices) && cfg.TrainableTokenIndices().Count > 0)
            unsupported.Add($"\"{ConfigFields.TrainableTokenIndices}\" (trained embedding rows; the managed backend loads them)");
        if (unsupported.Count > 0)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: the TorchSharp backend does not support {string.Join("; ", unsupported)}.");
        var file = files.Weights;
        var expected = new List<(string Key, long[] Shape)>();
        var wanted = new List<(Candidate Layer, int Rank)>();
        var all = AllLayers();
        var selected = cfg.SelectLayers(all.Select(c => (c.Path, c.Kind)).ToList()).ToHashSet(StringComparer.Ordinal);
        foreach (var c in all)
        {
            string ka = AdapterKeys.A(c.Path, c.Kind), kb = AdapterKeys.B(c.Path, c.Kind);
            if (!file.Contains(ka) && !file.Contains(kb) && !selected.Contains(c.Path)) continue;
            int rank = cfg.RankFor(c.Path);
            var shape = WeightShape(c.Layer);
            long inDim = c.Kind == LayerKind.Linear ? shape[1] : shape[0];
            long outDim = c.Kind == LayerKind.Linear ? shape[0] : shape[1];
            expected.Add((ka, [rank, inDim]));
            expected.Add((kb, [outDim, rank]));
            if (cfg.UseDora) expected.Add((AdapterKeys.Magnitude(c.Path), [outDim]));   // DoRA's m: [out] or [dim]
            wanted.Add((c, rank));
        }
        var match = file.Match(expected);
        if (!match.IsExact)
            throw new LoraAdapterException(directory, "the adapter does not fit this model", match.Missing, match.Unexpected, match.Mismatched);
        if (wanted.Count == 0) throw new LoraAdapterException(directory, "the adapter holds no LoRA tensors.");
        if (cfg.TargetModules is not null && selected.Count == 0)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: \"{ConfigFields.TargetModules}\" matches no layer of this model" +
                (cfg.LayersToTransform is null ? "." : $" (with \"{ConfigFields.LayersToTransform}\" {cfg.LayersToTransform} and \"{ConfigFields.LayersPattern}\" {cfg.LayersPattern?.ToString() ?? "null"}; PEFT reads the layer index after \".PATTERN.\")."));
        var init = cfg.InitLoraWeights == InitLoraWeights.Gaussian ? LoraInit.Gaussian : LoraInit.Kaiming;
        var configs = wanted.Select(w => new TorchLoraConfig(w.Rank, cfg.AlphaFor(w.Layer.Path), cfg.LoraDropout, init, cfg.UseRsLora, cfg.UseDora)).ToList();
        for (int i = 0; i < wanted.Count; i++) configs[i].Validate(wanted[i].Layer.Path);
        var existing = LoraLayers();
        for (int i = 0; i < wanted.Count; i++)
        {
            var c = wanted[i].Layer;
            using var a = TorchSafetensors.ReadTensor(file, AdapterKeys.A(c.Path, c.Kind));
            using var b = TorchSafetensors.ReadTensor(file, AdapterKeys.B(c.Path, c.Kind));
            using var m = cfg.UseDora ? TorchSafetensors.ReadTensor(file, AdapterKeys.Magnitude(c.Path)) : null;
            var layer = existing.TryGetValue(c.Path, out var l) ? l : AttachTo(c);
            layer.Add(name, configs[i], a, b, m);
        }
        TorchLoraModules.FreezeBase(_model);
        Register(name);
        _selection[name] = cfg;
        SyncBasisActive();
    }

    /// <summary>A tensor's values as a float32 row-major array (copied to the CPU).</summary>
    internal static float[] Floats(Tensor t)
    {
        using var _ = torch.no_grad();
        using var f = t.detach().to(ScalarType.Float32, torch.CPU, copy: true);
        using var c = f.contiguous();
        return c.data<float>().ToArray();
    }

    private static long[] WeightShape(nn.Module<Tensor, Tensor> layer) => layer switch
    {
        Linear linear => linear.weight!.shape,
        Embedding embedding => embedding.weight!.shape,
        _ => throw new InvalidOperationException($"not a Linear or Embedding: {layer.GetName()}"),
    };

    private static AdapterFiles Open(string directory)
    {
        try
        {
            return AdapterDirectory.Open(directory);
        }
        catch (NoAdapterException e)
        {
            throw new LoraAdapterException(directory, e.Message);
        }
        catch (Exception e) when (e is AdapterConfigException or AdapterDirectoryException or SafetensorsException)
        {
            throw new LoraAdapterException(directory, e.Message, inner: e);
        }
    }
}
