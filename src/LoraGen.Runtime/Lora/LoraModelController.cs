using System.Globalization;
using LoraGen.Contract;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// The <c>Lora</c> facade of a <c>[LoraModel]</c> root, mirroring PEFT: <see cref="Attach"/> (get_peft_model),
/// <see cref="Summary"/> (print_trainable_parameters), <see cref="Merge"/>, <see cref="Unmerge"/>,
/// <see cref="MergeAndUnload"/>, <see cref="Save"/>/<see cref="Load"/> (PEFT's directory layout), named adapters
/// (<see cref="SetActive"/>, <see cref="Delete"/>) and <see cref="Disable"/>. The generator creates it with the
/// model's compile-time settings; the layers it adapts come from the generated module tree, not reflection.
/// </summary>
public sealed class LoraModelController : ILoraFacade
{
    private readonly Module _model;
    private readonly List<string> _names = [];
    private string? _active;

    /// <summary>Creates the facade for <paramref name="model"/>.</summary>
    public LoraModelController(Module model, LoraModelOptions options)
    {
        _model = model;
        Options = options;
    }

    /// <summary>The root's <c>[LoraModel]</c> settings.</summary>
    public LoraModelOptions Options { get; }

    /// <summary>The adapter names, in the order they were attached or loaded.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The active adapter, or null before any is attached.</summary>
    public string? Active => _active;

    /// <summary>
    /// The layers the model adapts: every <c>[Lora]</c> field, plus every Linear/Embedding whose path matches
    /// <see cref="LoraModelOptions.Targets"/> (with rank/alpha patterns applied). Paths are dotted, with indices.
    /// </summary>
    public IReadOnlyList<LoraTarget> Targets()
    {
        var targets = new List<LoraTarget>();
        foreach (var (path, layer, spec) in AllLayers())
        {
            if (spec is not null) targets.Add(new LoraTarget(path, layer, spec.Config, spec.Bias));
            else if (Options.Targets.Any(t => ModulePath.Matches(path, t))) targets.Add(new LoraTarget(path, layer, ByName(path), Options.Bias));
        }
        return targets;
    }

    /// <summary>The [LoraModel] defaults for a layer selected by name, with rank/alpha patterns applied.</summary>
    private LoraConfig ByName(string path)
    {
        var cfg = Options.Defaults;
        foreach (var (name, r) in Options.RankPattern) if (ModulePath.Matches(path, name)) { cfg = cfg with { Rank = r }; break; }
        foreach (var (name, a) in Options.AlphaPattern) if (ModulePath.Matches(path, name)) { cfg = cfg with { Alpha = a }; break; }
        return cfg;
    }

    /// <summary>Every Linear/Embedding layer with its path and its <c>[Lora]</c> settings (null when it has none), in one walk.</summary>
    private IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> AllLayers() => AdaptableLayers.Find(_model);

    /// <summary>
    /// Freezes the base model and adds adapter <paramref name="name"/> to every target: B = 0 (A = 0 for
    /// embeddings), so outputs are unchanged until training. The first adapter becomes active.
    /// </summary>
    public LoraModelController Attach(string name = "default", ulong seed = 0)
    {
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached.");
        var targets = Targets();
        if (targets.Count == 0)
            throw new InvalidOperationException($"{_model.GetType().Name} has no LoRA target: mark Linear/Embedding fields with [Lora] or list them in [LoraModel(Targets = ...)].");
        _model.Freeze();
        var rng = new Rng(seed ^ 0x4C6F5241UL);
        foreach (var t in targets) t.Layer.EnableLora(t.Path).Add(name, t.Config, rng);
        ApplyBias(targets);
        Register(name);
        return this;
    }

    ILoraFacade ILoraFacade.Attach(string name, ulong seed) => Attach(name, seed);

    private void ApplyBias(IReadOnlyList<LoraTarget> targets)
    {
        foreach (var t in targets)
        {
            if (t.Bias == LoraBias.All)
            {
                foreach (var (n, p) in _model.NamedParameters(includeAdapters: false))
                    if (n == "bias" || n.EndsWith(".bias", StringComparison.Ordinal)) p.RequiresGrad = true;
            }
            else if (t.Bias == LoraBias.LoraOnly && t.Layer.Bias is { } b) b.RequiresGrad = true;
        }
    }

    private void Register(string name)
    {
        _names.Add(name);
        _active ??= name;
    }

    private IEnumerable<LoraLayer> Slots() => AllLayers().Select(l => l.Layer.Lora).OfType<LoraLayer>();

    /// <summary>The trainable parameters of the active adapter (A and B of every adapted layer), for the optimizer.</summary>
    public IEnumerable<Tensor> Parameters()
    {
        if (_active is null) yield break;
        foreach (var slot in Slots())
            if (slot.Adapters.TryGetValue(_active, out var ad)) { yield return ad.A; yield return ad.B; }
    }

    /// <summary>PEFT's line: <c>trainable params: 32,768 || all params: 3,274,336 || trainable%: 1.0007</c>.</summary>
    public string Summary()
    {
        long trainable = _model.ParameterCount(trainableOnly: true), all = _model.ParameterCount();
        double pct = all == 0 ? 0 : 100.0 * trainable / all;
        return string.Create(CultureInfo.InvariantCulture, $"trainable params: {trainable:N0} || all params: {all:N0} || trainable%: {pct:F4}");
    }

    /// <summary>Makes <paramref name="name"/> the adapter used by forward passes and <see cref="Parameters"/>.</summary>
    public void SetActive(string name)
    {
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}' (have: {string.Join(", ", _names)}).");
        if (Slots().Any(s => s.IsMerged)) throw new InvalidOperationException("Unmerge before switching adapters.");
        foreach (var slot in Slots()) if (slot.Adapters.ContainsKey(name)) slot.SetActive(name);
        _active = name;
    }

    /// <summary>Removes adapter <paramref name="name"/> from every layer.</summary>
    public void Delete(string name)
    {
        if (!_names.Remove(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        foreach (var slot in Slots()) if (slot.Adapters.ContainsKey(name)) slot.Remove(name);
        if (_active == name)
        {
            _active = _names.FirstOrDefault();
            if (_active is not null) SetActive(_active);
        }
    }

    /// <summary>Folds the active adapter into the base weights (W += s·B·A); a second call is a no-op. <paramref name="safe"/> refuses NaN/Inf.</summary>
    public void Merge(bool safe = false)
    {
        foreach (var slot in Slots()) slot.Merge(safe);
    }

    /// <summary>Undoes <see cref="Merge"/>, restoring W within float rounding.</summary>
    public void Unmerge()
    {
        foreach (var slot in Slots()) slot.Unmerge();
    }

    /// <summary>Whether any layer has a merged adapter.</summary>
    public bool IsMerged => Slots().Any(s => s.IsMerged);

    /// <summary>Merges the active adapter, then drops every adapter: the model is a plain base model again, with no extra latency.</summary>
    public void MergeAndUnload(bool safe = false)
    {
        Merge(safe);
        foreach (var (_, layer, _) in AllLayers()) layer.RemoveLora();
        _names.Clear();
        _active = null;
    }

    /// <summary>Within the returned scope the model computes its base outputs (unmerged adapters are skipped).</summary>
    public IDisposable Disable()
    {
        var slots = Slots().ToList();
        foreach (var s in slots) s.Disabled = true;
        return new DisableScope(slots);
    }

    private sealed class DisableScope(List<LoraLayer> slots) : IDisposable
    {
        public void Dispose()
        {
            foreach (var s in slots) s.Disabled = false;
        }
    }

    // ------------------------------------------------------------------ PEFT adapter directories

    /// <summary>
    /// Writes adapter <paramref name="name"/> (default: the active one) to <paramref name="directory"/> in PEFT's
    /// layout — adapter_model.safetensors and adapter_config.json — as one unit: a process killed while saving leaves
    /// the complete old or the complete new adapter (see <see cref="AdapterDirectory"/>).
    /// </summary>
    public void Save(string directory, string? name = null)
    {
        name ??= _active ?? throw new InvalidOperationException("No adapter to save: call Attach or Load first.");
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        LoraAdapterFiles.Save(directory, name, AllLayers(), Options);
    }

    /// <summary>
    /// Loads a PEFT LoRA adapter directory (ours or one PEFT saved) as adapter <paramref name="name"/>. Each layer
    /// gets the adapter's own rank and alpha (r, lora_alpha, rank_pattern, alpha_pattern, use_rslora), whatever the
    /// attributes say. Missing, unexpected and mis-shaped keys are reported by name in a
    /// <see cref="LoraAdapterException"/> before anything changes. The base model is frozen; the adapter becomes
    /// active if none is.
    /// </summary>
    public void Load(string directory, string name = "default")
    {
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached; Delete it first or load under another name.");
        var loaded = LoraAdapterFiles.Read(directory, AllLayers());
        _model.Freeze();
        foreach (var l in loaded) l.Layer.EnableLora(l.Path).Add(name, l.Config, l.A, l.B);
        Register(name);
    }
}
