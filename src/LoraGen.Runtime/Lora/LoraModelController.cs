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
public sealed partial class LoraModelController : ILoraFacade
{
    private readonly Module _model;
    private readonly List<string> _names = [];
    private readonly Dictionary<string, bool> _trainable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AdapterConfig?> _selection = new(StringComparer.Ordinal);   // how each adapter chose its layers, for Save
    private volatile string? _active;
    private readonly Lock _gate = new();   // adapter changes run one at a time; passes never take it

    /// <summary>The adapter directory name PEFT gives the default adapter (saved into the directory itself).</summary>
    public const string DefaultAdapterName = "default";

    /// <summary>Creates the facade for <paramref name="model"/>.</summary>
    public LoraModelController(Module model, LoraModelOptions options)
    {
        _model = model;
        Options = options;
    }

    /// <summary>The root's <c>[LoraModel]</c> settings.</summary>
    public LoraModelOptions Options { get; }

    /// <summary>The adapter names, in the order they were attached or loaded.</summary>
    public IReadOnlyList<string> Names
    {
        get { lock (_gate) return _names.ToArray(); }
    }

    /// <summary>The active adapter, or null before any is attached.</summary>
    public string? Active => _active;

    /// <summary>
    /// The layers the model adapts: every <c>[Lora]</c> field, plus every Linear/Embedding whose path matches
    /// <see cref="LoraModelOptions.Targets"/> (with rank/alpha patterns applied), before any adapter exists. Once
    /// one is active, the layers that hold it, each with that adapter's settings — the rank and α in effect (a loaded
    /// file's, an override's), not the attribute's. Paths are dotted, with indices.
    /// </summary>
    public IReadOnlyList<LoraTarget> Targets()
    {
        var targets = new List<LoraTarget>();
        var all = AllLayers();
        var byName = SelectedByName();
        foreach (var (path, layer, spec) in all)
        {
            var bias = spec?.Bias ?? Options.Bias;
            if (_active is not null)
            {
                if (layer.Lora is { } slot && slot.Adapters.TryGetValue(_active, out var ad)) targets.Add(new LoraTarget(path, layer, ad.Config, bias));
            }
            else if (spec is not null) targets.Add(new LoraTarget(path, layer, spec.Config, spec.Bias));
            else if (byName.Contains(path)) targets.Add(new LoraTarget(path, layer, ByName(path), Options.Bias));
        }
        return targets;
    }

    /// <summary>
    /// The paths <see cref="LoraModelOptions.Targets"/> selects: names as PEFT matches them, or, when the one entry is
    /// <c>"all-linear"</c>, every Linear but the output head (<see cref="AdapterConfig.SelectLayers"/>).
    /// </summary>
    private HashSet<string> SelectedByName()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (Options.Targets.Count == 0) return result;
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var names = Options.Targets.Where(t => !IsSelector(t)).ToList();
        if (names.Count > 0) result.UnionWith(model.Select(new AdapterConfig { TargetModules = OneOrMany<string>.Many(names) }));
        foreach (var t in Options.Targets.Where(IsSelector)) result.UnionWith(SelectedBy(model, t));
        return result;
    }

    /// <summary>A Targets entry that is <c>"all-linear"</c> or a regular expression (PEFT's one-string <c>target_modules</c>), not a name.</summary>
    private static bool IsSelector(string target) => TargetMatching.IsAllLinear(target) || TargetMatching.IsPattern(target);

    private static HashSet<string> SelectedBy(LoraAdapterFiles.ModelLayers model, string selector) =>
        model.Select(new AdapterConfig { TargetModules = OneOrMany<string>.One(selector) });

    /// <summary>The targets the attributes select (ignoring adapters already attached or loaded).</summary>
    private List<LoraTarget> DeclaredTargets(IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> layers)
    {
        var targets = new List<LoraTarget>();
        var byName = SelectedByName();
        foreach (var (path, layer, spec) in layers)
        {
            if (spec is not null) targets.Add(new LoraTarget(path, layer, spec.Config, spec.Bias));
            else if (byName.Contains(path)) targets.Add(new LoraTarget(path, layer, ByName(path), Options.Bias));
        }
        return targets;
    }

    /// <summary>
    /// The targets of a new adapter: the declared ones, or those <paramref name="config"/> names, each with the override
    /// applied. A listed name that reaches no layer is an error naming it.
    /// </summary>
    private List<LoraTarget> TargetsFor(LoraOverride? config)
    {
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var layers = model.Layers;
        config?.Validate();
        List<LoraTarget> targets;
        var selection = config?.Selection();
        if (config?.TargetRegex is { } regex)
        {
            var chosen = model.Select(selection!);
            if (chosen.Count == 0)
                throw new ArgumentException($"LoRA override: {nameof(LoraOverride.TargetRegex)} ({ConfigFields.TargetModules}) \"{regex}\" matches no Linear/Embedding layer of {_model.GetType().Name} (its layers: {Quote(layers.Select(l => l.Path))}).");
            var declared = DeclaredTargets(layers);
            targets = layers.Where(l => chosen.Contains(l.Path))
                .Select(l => declared.Find(d => d.Path == l.Path) ?? new LoraTarget(l.Path, l.Layer, ByName(l.Path), Options.Bias))
                .ToList();
        }
        else if (config?.TargetModules is { } names)
        {
            var missing = names.Where(n => !layers.Any(l => model.Matches(l.Path, n))).ToList();
            if (missing.Count > 0)
                throw new ArgumentException($"LoRA override: {nameof(LoraOverride.TargetModules)} names {Quote(missing)}, which match no Linear/Embedding layer of {_model.GetType().Name} (its layers: {Quote(layers.Select(l => l.Path))}).");
            var declared = DeclaredTargets(layers);
            targets = layers.Where(l => names.Any(n => model.Matches(l.Path, n)))
                .Select(l => declared.Find(d => d.Path == l.Path) ?? new LoraTarget(l.Path, l.Layer, ByName(l.Path), Options.Bias))
                .ToList();
        }
        else
        {
            targets = DeclaredTargets(layers);
            var unreachable = Options.Targets.Where(n => IsSelector(n) ? SelectedBy(model, n).Count == 0 : !layers.Any(l => model.Matches(l.Path, n))).ToList();
            if (unreachable.Count > 0)
                throw new InvalidOperationException(
                    $"{_model.GetType().Name}: [LoraModel(Targets = ...)] lists {Quote(unreachable)}, which the compiler found but no Linear/Embedding reachable through the generated module tree has that name at run time. " +
                    "A layer is unreachable when a Module subclass on its path is not `partial` (the generator cannot list its children: make it partial, see LORA0021) or when the field is null or not assigned in the constructor." +
                    (layers.Count == 0 ? "" : $" Reachable layers: {Quote(layers.Select(l => l.Path))}."));
        }
        if (selection is not null)   // exclusions, layer selection and modules_to_save narrow whichever set was chosen
        {
            var narrowed = targets.Where(t => !selection.IsExcluded(t.Path) && !selection.IsModuleToSave(t.Path) &&
                (config!.TargetRegex is not null || selection.IsInSelectedLayers(t.Path))).ToList();
            if (narrowed.Count == 0 && targets.Count > 0)
                throw new ArgumentException($"LoRA override: {nameof(LoraOverride.ExcludeModules)}/{nameof(LoraOverride.LayersToTransform)}/{nameof(LoraOverride.ModulesToSave)} leave no layer of {Quote(targets.Select(t => t.Path))} to adapt.");
            targets = narrowed;
        }
        if (config?.RankPattern is { } rp) CheckPatternNames(rp.Keys, nameof(LoraOverride.RankPattern), targets);
        if (config?.AlphaPattern is { } ap) CheckPatternNames(ap.Keys, nameof(LoraOverride.AlphaPattern), targets);
        if (config is null) return targets;
        return targets.Select(t => t with { Config = config.Apply(t.Path, t.Config), Bias = config.Bias ?? t.Bias }).ToList();
    }

    private void CheckPatternNames(IEnumerable<string> names, string field, List<LoraTarget> targets)
    {
        var missing = names.Where(n => !targets.Any(t => ModulePath.Matches(t.Path, n))).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"LoRA override: {field} names {Quote(missing)}, which match no adapted layer of {_model.GetType().Name} (adapted: {Quote(targets.Select(t => t.Path))}).");
    }

    private static string Quote(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));

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
    /// embeddings), so outputs are unchanged until training. The first adapter becomes active. <paramref name="config"/>
    /// overrides the compile-time rank, α, dropout, targets and patterns for this adapter (PEFT's <c>LoraConfig</c>);
    /// a bad value or a target the model lacks throws <see cref="ArgumentException"/> naming it, before anything changes.
    /// </summary>
    public LoraModelController Attach(string name = "default", ulong seed = 0, LoraOverride? config = null)
    {
        lock (_gate) return AttachLocked(name, seed, config);
    }

    private LoraModelController AttachLocked(string name, ulong seed, LoraOverride? config)
    {
        CheckName(name);
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached.");
        var targets = TargetsFor(config);
        if (targets.Count == 0)
            throw new InvalidOperationException($"{_model.GetType().Name} has no LoRA target: mark Linear/Embedding fields with [Lora] or list them in [LoraModel(Targets = ...)]. " +
                "Every Module subclass that holds layers must be `partial` (LORA0021), or its layers are invisible.");
        if (BasisVariant(name, targets) is { } variant) return AttachBasisLocked(name, seed, config, targets, variant);   // VeRA, NoLA
        if (targets.Any(t => t.Config.UseDora) && targets.FirstOrDefault(t => !t.Config.UseDora) is { } plain)
            throw new InvalidOperationException($"Adapter '{name}' would be DoRA on {Quote(targets.Where(t => t.Config.UseDora).Select(t => t.Path))} and plain LoRA on '{plain.Path}'; " +
                $"PEFT's {ConfigFields.UseDora} is one setting per adapter. Set UseDora alike on every [Lora] and [LoraModel], or pass config: new() {{ UseDora = ... }}. Nothing was changed.");
        var problems = targets.Select(t => LoraLayer.ProblemAdding(t.Layer, t.Path, name, t.Config)).OfType<string>().ToList();
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var selection = config?.Selection() ?? new AdapterConfig();
        if (config?.TrainableTokenIndices is { Count: > 0 } ti) selection = selection.WithTrainableTokenIndices(ti);
        List<(string Path, IAdaptableLayer Layer)> copies;
        List<(string Path, IAdaptableLayer Layer, int[] Indices)> tokens;
        try
        {
            copies = LoraAdapterFiles.SavedModulesOf("LoRA override", selection, model);
            tokens = LoraAdapterFiles.TokensOf("LoRA override", selection, model);
        }
        catch (LoraAdapterException e) { throw new ArgumentException(e.Message, e); }
        foreach (var (path, layer) in copies)
            if (layer.Adapter is not (null or SavedModuleSlot)) problems.Add($"{path}: {nameof(LoraOverride.ModulesToSave)} names a layer that holds a {layer.Adapter.GetType().Name}.");
        foreach (var (path, layer, indices) in tokens)
        {
            if (layer.Adapter is not (null or TrainableTokensSlot)) problems.Add($"{path}: {nameof(LoraOverride.TrainableTokenIndices)} names an embedding that holds a {layer.Adapter.GetType().Name}.");
            if (indices.Any(i => i >= layer.Weight.Dim(0))) problems.Add($"{path}: {nameof(LoraOverride.TrainableTokenIndices)} lists a token outside the table of {layer.Weight.Dim(0)} rows.");
        }
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems) + " Nothing was changed.");   // all or nothing
        _model.Freeze();
        var rng = new Rng(seed ^ 0x4C6F5241UL);
        foreach (var t in targets)
        {
            var ad = t.Layer.EnableLora(t.Path).Add(name, t.Config, rng);
            if (config?.FreezeA == true && t.Layer.Kind == LayerKind.Linear) ad.A.RequiresGrad = false;   // LoRA-FA
        }
        foreach (var (path, layer) in copies) SavedSlot(layer, path).Add(name);
        foreach (var (path, layer, indices) in tokens) TokensSlot(layer, path).Add(name, indices);
        ApplyBias(targets);
        Register(name, trainable: true);
        _selection[name] = config?.Selection();
        if (_active != name) foreach (var aux in AuxSlots()) aux.SetActive(_active);
        ApplyCompileTimeQuantization();   // [LoraModel(BaseQuantization)]
        return this;
    }

    private static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name is "." or ".." || name.IndexOfAny(['/', '\\']) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"Adapter name '{name}' cannot name a directory (PEFT saves a non-default adapter to DIR/NAME).", nameof(name));
    }

    ILoraFacade ILoraFacade.Attach(string name, ulong seed) => Attach(name, seed);

    void ILoraFacade.Load(string directory, string name) => Load(directory, name);

    void ILoraFacade.HotSwap(string directory, string name) => HotSwap(directory, name);

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

    private void Register(string name, bool trainable)
    {
        _names.Add(name);
        _trainable[name] = trainable;
        _active ??= name;
    }

    /// <summary>Whether adapter <paramref name="name"/> trains: attached adapters do; loaded ones only with <c>isTrainable: true</c>.</summary>
    public bool IsTrainable(string name) =>
        _trainable.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"No adapter named '{name}'.");

    private IEnumerable<LoraLayer> Slots() => AllLayers().Select(l => l.Layer.Lora).OfType<LoraLayer>();

    /// <summary>The <c>modules_to_save</c> and <c>trainable_token_indices</c> slots.</summary>
    private IEnumerable<IAuxiliarySlot> AuxSlots() => AllLayers().Select(l => l.Layer.Adapter).OfType<IAuxiliarySlot>();

    private static SavedModuleSlot SavedSlot(IAdaptableLayer layer, string path)
    {
        if (layer.Adapter is SavedModuleSlot s) return s;
        var slot = new SavedModuleSlot(layer, path);
        layer.Adapter = slot;
        return slot;
    }

    private static TrainableTokensSlot TokensSlot(IAdaptableLayer layer, string path)
    {
        if (layer.Adapter is TrainableTokensSlot s) return s;
        var slot = new TrainableTokensSlot(layer, path);
        layer.Adapter = slot;
        return slot;
    }

    /// <summary>
    /// What trains, for the optimizer: A and B of the active adapter (when it is trainable — a loaded adapter is frozen
    /// unless loaded with <c>isTrainable: true</c>) and the base parameters the bias setting unfroze. <see cref="Summary"/>
    /// counts exactly these.
    /// </summary>
    /// <remarks>While adapters are merged, an optimizer step over these parameters is refused with a message saying to
    /// <see cref="Unmerge"/> first (the merged weights would drift from B·A).</remarks>
    public IEnumerable<Tensor> Parameters() => TrainableNow();


    private List<Tensor> TrainableNow() => TrainableByPart().Select(t => t.Parameter).ToList();

    /// <summary>
    /// What <see cref="Parameters"/> returns, each with the layer kind and part it belongs to (null kind and part for a
    /// base parameter the bias setting unfroze): the split LoRA+ groups by.
    /// </summary>
    internal List<(Tensor Parameter, LayerKind? Kind, AdapterKeyPart? Part)> TrainableByPart()
    {
        var result = _model.Parameters(includeAdapters: false).Where(p => p.RequiresGrad)
            .Select(p => (p, (LayerKind?)null, (AdapterKeyPart?)null)).ToList();
        if (_active is null || !_trainable.GetValueOrDefault(_active)) return result;
        foreach (var slot in Slots())
        {
            if (!slot.Adapters.TryGetValue(_active, out var ad)) continue;
            if (ad.A.RequiresGrad) result.Add((ad.A, slot.Kind, AdapterKeyPart.A));   // frozen under LoRA-FA
            if (ad.B.RequiresGrad) result.Add((ad.B, slot.Kind, AdapterKeyPart.B));
            if (ad.Magnitude is { RequiresGrad: true }) result.Add((ad.Magnitude, slot.Kind, AdapterKeyPart.Magnitude));
        }
        foreach (var aux in AuxSlots())
            foreach (var p in aux.ParametersOf(_active)) result.Add((p, null, null));   // modules_to_save copies, token rows
        return result;
    }

    /// <summary>
    /// PEFT's line: <c>trainable params: 32,768 || all params: 3,274,336 || trainable%: 1.0007</c>. As PEFT counts,
    /// "trainable" is the active adapter (if trainable) plus unfrozen base parameters — what <see cref="Parameters"/>
    /// returns — and "all" is every parameter, every adapter included.
    /// </summary>
    public string Summary()
    {
        long trainable = TrainableNow().Sum(p => (long)p.Size), all = _model.ParameterCount();
        double pct = all == 0 ? 0 : 100.0 * trainable / all;
        return string.Create(CultureInfo.InvariantCulture, $"trainable params: {trainable:N0} || all params: {all:N0} || trainable%: {pct:F4}");
    }

    /// <summary>Makes <paramref name="name"/> the adapter used by forward passes and <see cref="Parameters"/>.</summary>
    public void SetActive(string name)
    {
        lock (_gate) SetActiveLocked(name);
    }

    private void SetActiveLocked(string name)
    {
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}' (have: {string.Join(", ", _names)}).");
        if (IsMerged) throw new InvalidOperationException("Unmerge before switching adapters.");
        foreach (var slot in Slots()) if (slot.Adapters.ContainsKey(name)) slot.SetActive(name);
        foreach (var aux in AuxSlots()) aux.SetActive(name);   // a slot without this adapter computes the base layer, as PEFT
        _active = name;
    }

    /// <summary>Removes adapter <paramref name="name"/> from every layer.</summary>
    public void Delete(string name)
    {
        lock (_gate) DeleteLocked(name);
    }

    private void DeleteLocked(string name)
    {
        if (!_names.Remove(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        _trainable.Remove(name);
        _selection.Remove(name);
        _basis.Remove(name);
        foreach (var slot in Slots()) if (slot.Adapters.ContainsKey(name)) slot.Remove(name);
        foreach (var (_, layer, _) in AllLayers())
            if (layer.Adapter is IAuxiliarySlot aux && aux.Names.Contains(name))
            {
                aux.Remove(name);
                if (aux.Names.Count == 0) layer.Adapter = null;
            }
        if (_active == name)
        {
            _active = _names.FirstOrDefault();
            if (_active is not null) SetActiveLocked(_active);
        }
    }

    /// <summary>Folds the active adapter into the base weights (W += s·B·A); a second call is a no-op. <paramref name="safe"/> refuses NaN/Inf.</summary>
    public void Merge(bool safe = false)
    {
        lock (_gate)
        {
            foreach (var slot in Slots()) slot.Merge(safe);
            foreach (var aux in AuxSlots()) aux.Merge(safe);
        }
    }

    /// <summary>Undoes <see cref="Merge"/>, restoring W within float rounding.</summary>
    public void Unmerge()
    {
        lock (_gate)
        {
            foreach (var slot in Slots()) slot.Unmerge();
            foreach (var aux in AuxSlots()) aux.Unmerge();
        }
    }

    /// <summary>Whether any layer has a merged adapter (or a merged <c>modules_to_save</c> copy or token rows).</summary>
    public bool IsMerged => Slots().Any(s => s.IsMerged) || AuxSlots().Any(s => s.IsMerged);

    /// <summary>
    /// Merges the active adapter, then drops every adapter: the model is a plain base model again, with no extra latency.
    /// A base held in NF4/BF16 (<see cref="Quantize"/>) is re-quantized with the merged values (lossy; the layers are
    /// listed in <see cref="RequantizedLayers"/>); <c>Quantize(BaseFormat.Fp32)</c> before merging keeps it exact.
    /// </summary>
    public void MergeAndUnload(bool safe = false)
    {
        lock (_gate) MergeAndUnloadLocked(safe);
    }

    private void MergeAndUnloadLocked(bool safe)
    {
        Merge(safe);
        RemoveEverySlot();
        RequantizeMergedBases();   // a low-precision base holds W + ΔW in fp32 until here; see RequantizedLayers
    }

    /// <summary>Drops every adapter slot (LoRA, saved copies, token rows) and forgets every adapter name.</summary>
    private void RemoveEverySlot()
    {
        foreach (var (_, layer, _) in AllLayers())
        {
            if (layer.Adapter is IAuxiliarySlot)
            {
                layer.Weight.StepLock = null;   // a plain layer again: its (possibly merged) weight may be trained
                layer.Adapter = null;
            }
            else layer.RemoveLora();
        }
        _names.Clear();
        _trainable.Clear();
        _selection.Clear();
        _basis.Clear();
        _active = null;
    }

    /// <summary>
    /// PEFT's <c>unload()</c>: removes every adapter without merging and gives back the untouched base model. Where an
    /// adapter is merged it is unmerged first, so every base weight is bit-identical to what it was before the first
    /// merge (PEFT's <c>unload</c> keeps a merged weight as it is; use <see cref="MergeAndUnload"/> for that). The layers
    /// stay where they are; only their adapter slots are emptied. The base stays frozen as the adapters left it.
    /// </summary>
    public void Unload()
    {
        lock (_gate)
        {
            foreach (var slot in Slots()) slot.Unmerge();
            foreach (var aux in AuxSlots()) aux.Unmerge();
            RemoveEverySlot();
        }
    }

    /// <summary>Within the returned scope the model computes its base outputs (unmerged adapters are skipped).</summary>
    public IDisposable Disable()
    {
        var slots = Slots().ToList();
        var aux = AuxSlots().ToList();
        foreach (var s in slots) s.Disabled = true;
        foreach (var s in aux) s.Disabled = true;
        return new DisableScope(slots, aux);
    }

    private sealed class DisableScope(List<LoraLayer> slots, List<IAuxiliarySlot> aux) : IDisposable
    {
        public void Dispose()
        {
            foreach (var s in slots) s.Disabled = false;
            foreach (var s in aux) s.Disabled = false;
        }
    }

    // ------------------------------------------------------------------ PEFT adapter directories

    /// <summary>
    /// Writes adapter <paramref name="name"/> (default: the active one) in PEFT's layout — adapter_model.safetensors
    /// and adapter_config.json — as PEFT's <c>save_pretrained</c> does: the adapter named "default" into
    /// <paramref name="directory"/> itself, any other into <c>directory/name</c>, so a directory of several adapters
    /// round-trips both ways. The files are written as one unit: a process killed while saving leaves the complete old
    /// or the complete new adapter (see <see cref="AdapterDirectory"/>).
    /// </summary>
    public void Save(string directory, string? name = null)
    {
        name ??= _active ?? throw new InvalidOperationException("No adapter to save: call Attach or Load first.");
        CheckName(name);
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        AdapterConfig? selection;
        lock (_gate) selection = _selection.GetValueOrDefault(name);
        if (TrySaveBasis(DirectoryFor(directory, name), name, selection)) return;   // VeRA, NoLA
        LoraAdapterFiles.Save(DirectoryFor(directory, name), name, LoraAdapterFiles.ModelLayers.Of(_model), Options, selection);
    }

    /// <summary>Where PEFT keeps adapter <paramref name="name"/> of a saved model: the directory itself for "default", else a subdirectory.</summary>
    public static string DirectoryFor(string directory, string name)
    {
        CheckName(name);
        return name == DefaultAdapterName ? directory : Path.Combine(directory, name);
    }

    /// <summary>
    /// Loads a PEFT LoRA adapter directory (ours or one PEFT saved) as adapter <paramref name="name"/>. For a
    /// non-default <paramref name="name"/>, <c>directory/name</c> is loaded when it holds an adapter (where
    /// <see cref="Save"/> and PEFT store a non-default adapter), else <paramref name="directory"/> itself. Each layer gets the adapter's own rank and alpha (r,
    /// lora_alpha — 8 when absent, as PEFT — rank_pattern, alpha_pattern, use_rslora), whatever the attributes say.
    /// As PEFT's <c>from_pretrained</c>, the adapter is frozen for inference unless <paramref name="isTrainable"/>.
    /// <paramref name="config"/> overrides α, dropout, rsLoRA and alpha patterns; its rank must match the file's shapes
    /// and its targets must exist. Missing, unexpected and mis-shaped keys are reported by name in a
    /// <see cref="LoraAdapterException"/> before anything changes. The base model is frozen; the adapter becomes
    /// active if none is. A or B holding NaN or ±Inf is refused unless <paramref name="allowNonFinite"/> is true.
    /// </summary>
    public void Load(string directory, string name = DefaultAdapterName, bool isTrainable = false, LoraOverride? config = null, bool allowNonFinite = false)
    {
        lock (_gate) LoadLocked(directory, name, isTrainable, config, allowNonFinite);
    }

    private void LoadLocked(string directory, string name, bool isTrainable, LoraOverride? config, bool allowNonFinite)
    {
        CheckName(name);
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' is already attached; Delete it first or load under another name.");
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var layers = model.Layers;
        if (config is not null)
        {
            config.Validate();
            var missing = (config.TargetModules ?? []).Where(n => !layers.Any(l => ModulePath.Matches(l.Path, n))).ToList();
            if (missing.Count > 0)
                throw new ArgumentException($"LoRA override: {nameof(LoraOverride.TargetModules)} names {Quote(missing)}, which match no Linear/Embedding layer of {_model.GetType().Name}.");
        }
        var sub = Path.Combine(directory, name);
        if (name != DefaultAdapterName && AdapterDirectory.Exists(sub)) directory = sub;
        if (TryLoadBasisLocked(directory, name, isTrainable, allowNonFinite)) return;   // VeRA, NoLA
        var read = LoraAdapterFiles.Read(directory, model, name, allowNonFinite, Options.FanInFanOut);   // checks everything; nothing changed yet
        var loaded = read.Layers;
        var configs = loaded.Select(l => config is null ? l.Config : ApplyToLoaded(config, l.Path, l.Config)).ToList();
        for (int i = 0; i < loaded.Count; i++) configs[i].Validate(loaded[i].Path);
        _model.Freeze();
        for (int i = 0; i < loaded.Count; i++)
        {
            var l = loaded[i];
            var ad = l.Layer.EnableLora(l.Path).Add(name, configs[i], l.A, l.B, l.Magnitude);
            foreach (var p in ad.Parameters()) p.RequiresGrad = isTrainable;
        }
        foreach (var c in read.Copies)
        {
            var copy = SavedSlot(c.Layer, c.Path).Add(name, c.Weight, c.Bias);
            copy.Weight.RequiresGrad = isTrainable;
            if (copy.Bias is not null) copy.Bias.RequiresGrad = isTrainable;
        }
        foreach (var t in read.Tokens) TokensSlot(t.Layer, t.Path).Add(name, t.Indices, t.Rows).Rows.RequiresGrad = isTrainable;
        Register(name, isTrainable);
        _selection[name] = read.Config;
        if (_active != name) foreach (var aux in AuxSlots()) aux.SetActive(_active);   // the new copies wait until their adapter is active
    }

    /// <summary>
    /// PEFT's <c>hotswap_adapter</c>: loads the adapter in <paramref name="directory"/> into the existing adapter
    /// <paramref name="name"/>, which must cover the same layers with the same ranks and shapes (α and the other settings
    /// may differ). Nothing in the module tree is allocated or replaced: each layer's slot publishes the new pair in one
    /// snapshot, so a forward pass on another thread computes each layer with either the old or the new weights, never
    /// a torn mix (each layer swaps atomically; see src/LoraGen.Runtime/README.md, Threads). Every key, shape and value
    /// is checked before any layer changes; a mismatch throws <see cref="LoraAdapterException"/> and leaves the old
    /// adapter in place. A merged adapter is refused (unmerge first). Saved module copies and trained token rows swap
    /// the same way. A VeRA or NoLA adapter swaps for a file of the same variant and r (NoLA: the same k_A, k_B) over
    /// the same layers — its vectors, seed and (VeRA) projection may differ — with the same guarantees.
    /// </summary>
    public void HotSwap(string directory, string name = DefaultAdapterName, bool allowNonFinite = false)
    {
        lock (_gate) HotSwapLocked(directory, name, allowNonFinite);
    }

    private void HotSwapLocked(string directory, string name, bool allowNonFinite)
    {
        CheckName(name);
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}' to swap into (have: {string.Join(", ", _names)}).");
        var fileType = BasisAdapterConfig.PeftTypeIn(directory);
        if (_basis.ContainsKey(name) || BasisAdapterConfig.IsBasisType(fileType))
        {
            HotSwapBasisLocked(directory, name, allowNonFinite, fileType);   // VeRA, NoLA
            return;
        }
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var read = LoraAdapterFiles.Read(directory, model, "\u0001hot-swap", allowNonFinite);   // a name no layer holds: only shapes and values are checked
        var problems = new List<string>();
        var holding = model.Layers.Where(l => l.Layer.Lora is { } s && s.Adapters.ContainsKey(name)).Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var l in read.Layers)
        {
            if (!holding.Remove(l.Path)) problems.Add($"{l.Path}: adapter '{name}' does not adapt this layer");
            else if (l.Layer.Lora!.Adapters[name] is var old && (old.Config.Rank != l.Config.Rank))
                problems.Add($"{l.Path}: rank {l.Config.Rank} in the file, {old.Config.Rank} in adapter '{name}'");
            else if (l.Layer.Lora!.MergedAdapters.Contains(name)) problems.Add($"{l.Path}: adapter '{name}' is merged; Unmerge() before swapping");
        }
        foreach (var p in holding) problems.Add($"{p}: adapter '{name}' adapts this layer, the file has no tensors for it");
        var copies = model.Layers.Where(l => l.Layer.Adapter is SavedModuleSlot s && s.Copies.ContainsKey(name)).Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var c in read.Copies)
            if (!copies.Remove(c.Path)) problems.Add($"{c.Path}: adapter '{name}' saves no copy of this layer ({ConfigFields.ModulesToSave})");
        foreach (var p in copies) problems.Add($"{p}: adapter '{name}' saves a copy of this layer, the file has none ({ConfigFields.ModulesToSave})");
        var rows = model.Layers.Where(l => l.Layer.Adapter is TrainableTokensSlot s && s.ByName.ContainsKey(name)).Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var t in read.Tokens)
        {
            if (!rows.Remove(t.Path)) problems.Add($"{t.Path}: adapter '{name}' trains no tokens of this embedding ({ConfigFields.TrainableTokenIndices})");
            else if (!((TrainableTokensSlot)t.Layer.Adapter!).ByName[name].Indices.SequenceEqual(t.Indices))
                problems.Add($"{t.Path}: the file trains other tokens than adapter '{name}' ({ConfigFields.TrainableTokenIndices})");
        }
        foreach (var p in rows) problems.Add($"{p}: adapter '{name}' trains tokens of this embedding, the file has none ({ConfigFields.TrainableTokenIndices})");
        if (problems.Count > 0) throw new LoraAdapterException(directory, $"cannot hot-swap into adapter '{name}': " + string.Join("; ", problems) + "; nothing was changed");
        foreach (var l in read.Layers) l.Layer.Lora!.Replace(name, l.Config, l.A, l.B);
        foreach (var c in read.Copies) ((SavedModuleSlot)c.Layer.Adapter!).Replace(name, c.Weight, c.Bias);
        foreach (var t in read.Tokens) ((TrainableTokensSlot)t.Layer.Adapter!).Replace(name, t.Rows);
        _selection[name] = read.Config;
    }

    private static LoraConfig ApplyToLoaded(LoraOverride config, string path, LoraConfig fromFile)
    {
        var applied = config.Apply(path, fromFile);
        if (applied.Rank != fromFile.Rank)
            throw new ArgumentException($"LoRA override: {path} has rank {fromFile.Rank} in the adapter file; an override cannot change a loaded adapter's rank (got {applied.Rank}).");
        if (applied.UseDora != fromFile.UseDora)
            throw new ArgumentException($"LoRA override: {path} is {(fromFile.UseDora ? "a DoRA" : "a plain LoRA")} adapter in the file; an override cannot change a loaded adapter's variant ({nameof(LoraOverride.UseDora)}).");
        return applied;
    }
}
