using LoraGen.Ops;
using LoraGen.Contract;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>
/// The base class of every layer and model. A module's tree — its named children and parameters — is
/// described by <see cref="Children"/> and <see cref="DirectParameters"/>: hand-written for the built-in
/// layers and emitted by the LoraGen source generator for <c>partial</c> subclasses, so traversal, state
/// dicts and freezing need no reflection (NativeAOT- and trimming-safe).
/// </summary>
public abstract class Module
{
    /// <summary>True in training mode (dropout active), false in evaluation mode.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>
    /// The direct children, with their path segments. Arrays and lists of modules appear element by element
    /// with dotted indices, e.g. <c>("h.0", block0)</c>.
    /// </summary>
    public virtual IEnumerable<(string Name, Module Module)> Children() => [];

    /// <summary>The parameters this module owns directly (not those of its children), e.g. <c>("weight", W)</c>.</summary>
    public virtual IEnumerable<(string Name, Tensor Parameter)> DirectParameters() => [];

    /// <summary>
    /// The low-rank adapter parameters this module owns directly, named as PEFT names them in a model's
    /// state dict, e.g. <c>("lora_A.default.weight", A)</c>. Empty for modules without adapters.
    /// </summary>
    public virtual IEnumerable<(string Name, Tensor Parameter)> AdapterParameters() => [];

    /// <summary>
    /// The compile-time adapter settings this module declares for the child named <paramref name="childName"/> (as
    /// <see cref="Children"/> names it, e.g. <c>q_proj</c> or <c>experts.3</c>), or null. The generator overrides this
    /// for types with <c>[Lora]</c> fields; adapter families read it when they attach.
    /// </summary>
    protected internal virtual AdapterSpec? AdapterSpecFor(string childName) => null;

    /// <summary>Every module in the tree, this one first (path ""), depth first, with dotted paths.</summary>
    public IEnumerable<(string Path, Module Module)> NamedModules()
    {
        var stack = new Stack<(string, Module)>();
        stack.Push(("", this));
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        while (stack.Count > 0)
        {
            var (path, m) = stack.Pop();
            if (!seen.Add(m)) continue;   // a module shared in two places is visited once, like PyTorch
            yield return (path, m);
            var children = m.Children().ToList();
            for (int i = children.Count - 1; i >= 0; i--)
                stack.Push((path.Length == 0 ? children[i].Name : $"{path}.{children[i].Name}", children[i].Module));
        }
    }

    /// <summary>
    /// All parameters in the tree with dotted paths such as <c>h.0.attn.q_proj.weight</c>. With
    /// <paramref name="includeAdapters"/>, LoRA parameters follow their layer's own, named as in PEFT
    /// (<c>h.0.attn.q_proj.lora_A.default.weight</c>).
    /// </summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool includeAdapters = true)
    {
        foreach (var (path, m) in NamedModules())
        {
            string prefix = path.Length == 0 ? "" : path + ".";
            foreach (var (name, p) in m.DirectParameters()) yield return (prefix + name, p);
            if (!includeAdapters) continue;
            foreach (var (name, p) in m.AdapterParameters()) yield return (prefix + name, p);
        }
    }

    /// <summary>All parameters in the tree (see <see cref="NamedParameters"/>).</summary>
    public IEnumerable<Tensor> Parameters(bool includeAdapters = true) => NamedParameters(includeAdapters).Select(p => p.Parameter);

    /// <summary>The parameters that currently require gradients.</summary>
    public IEnumerable<Tensor> TrainableParameters() => Parameters().Where(p => p.RequiresGrad);

    /// <summary>The number of parameter elements, all or only the trainable ones.</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Size);

    /// <summary>
    /// Casts every frozen Linear base weight in the tree to <paramref name="format"/> (see <see cref="Linear.CastBase"/>);
    /// Linear layers whose weight still requires grad are left in fp32. Returns the number of layers cast.
    /// </summary>
    /// <example><code>model.Lora.Attach(); model.CastFrozenBase(BaseFormat.BF16);</code></example>
    public int CastFrozenBase(BaseFormat format)
    {
        int n = 0;
        foreach (var (_, m) in NamedModules())
            if (m is Linear l && !l.Weight.RequiresGrad)
            {
                l.CastBase(format);
                n++;
            }
        return n;
    }

    /// <summary>Stops gradients for every base parameter in the tree (adapters are untouched).</summary>
    public void Freeze() => SetRequiresGrad(false);

    /// <summary>Enables gradients for every base parameter in the tree.</summary>
    public void Unfreeze() => SetRequiresGrad(true);

    private void SetRequiresGrad(bool value)
    {
        foreach (var p in Parameters(includeAdapters: false)) p.RequiresGrad = value;
    }

    /// <summary>Sets training (true) or evaluation (false) mode on the whole tree.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
        return this;
    }

    /// <summary>Sets evaluation mode on the whole tree.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter in the tree.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>The base parameters by path (adapters excluded), in tree order.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> StateDict() =>
        NamedParameters(includeAdapters: false).Select(p => KeyValuePair.Create(p.Name, p.Parameter)).ToList();

    /// <summary>
    /// Writes the base parameters (adapters excluded) to a safetensors file, atomically. While an adapter is merged
    /// the weights are not the base model's, so this throws <see cref="InvalidOperationException"/>: unmerge first to
    /// save the base, or merge-and-unload (which drops the adapters) to save a merged plain model.
    /// </summary>
    public void SaveWeights(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (AdaptedLayers().FirstOrDefault(l => l.Layer.Adapter!.IsMerged) is { Layer: not null } merged)
            throw new InvalidOperationException(
                $"{(merged.Path.Length == 0 ? "the model" : merged.Path)} has a merged adapter, so its weight is not the base weight: Unmerge() before saving the base weights, or MergeAndUnload() to save a merged model.");
        TensorFiles.Save(path, StateDict(), metadata ?? new Dictionary<string, string> { [ConfigFields.FormatMetadataKey] = ConfigFields.FormatMetadataValue });
    }

    /// <summary>Every adaptable layer in the tree that holds an adapter, with its path.</summary>
    private IEnumerable<(string Path, IAdaptableLayer Layer)> AdaptedLayers() =>
        NamedModules().Where(m => m.Module is IAdaptableLayer { Adapter: not null }).Select(m => (m.Path, (IAdaptableLayer)m.Module));

    /// <summary>
    /// Loads base parameters from a safetensors file (F32, F16 or BF16). With <paramref name="strict"/>, any
    /// missing, unexpected or shape-mismatched key throws <see cref="StateDictException"/> before anything is
    /// changed; otherwise the matching keys are loaded and the report says what was skipped. A layer whose weight is
    /// loaded while an adapter is merged into it is unmerged by the load: the new weight is the base weight, and the
    /// adapter contributes in the forward pass again (a later Unmerge does not subtract ΔW from it).
    /// </summary>
    public LoadReport LoadWeights(string path, bool strict = true)
    {
        using var file = SafetensorsFile.Open(path);
        return LoadWeights(file, strict, keyPrefix: "");
    }

    /// <summary>Loads base parameters from an open safetensors file, reading keys as <paramref name="keyPrefix"/> + path.</summary>
    public LoadReport LoadWeights(SafetensorsFile file, bool strict, string keyPrefix)
    {
        var state = StateDict().ToDictionary(kv => keyPrefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var match = file.Match(state.Select(kv => (kv.Key, kv.Value.Shape.ToArray().Select(d => (long)d).ToArray())));
        var report = new LoadReport(match.Path, match.Missing, match.Unexpected, match.Mismatched, match.Matched.Count);
        if (strict && !report.IsExact) throw new StateDictException(report);
        foreach (var key in match.Matched) file.ReadInto(key, state[key].Data);
        var loaded = match.Matched.Select(k => state[k]).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (_, layer) in AdaptedLayers())
            if (loaded.Contains(layer.Weight)) layer.Adapter!.BaseWeightReplaced();
        foreach (var (_, m) in NamedModules())
            if (m is Linear { LowPrecisionBase: not null } l && loaded.Contains(l.Weight)) l.BaseWeightLoaded();
        return report;
    }
}
