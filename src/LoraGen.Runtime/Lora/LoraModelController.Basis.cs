using LoraGen.Contract;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

// VeRA and NoLA (LoraVariant.Vera/Nola): attach, save and load. Their layers hold a BasisSlot, which the facade drives
// with the other auxiliary slots (SetActive, Merge, Unmerge, Disable, Delete, Parameters, Summary).
public sealed partial class LoraModelController
{
    private readonly Dictionary<string, BasisAdapterConfig> _basis = new(StringComparer.Ordinal);   // the settings of each VeRA/NoLA adapter, for Save

    /// <summary>The variant of adapter <paramref name="name"/>: <see cref="LoraVariant.Vera"/>, <see cref="LoraVariant.Nola"/> or <see cref="LoraVariant.Lora"/>.</summary>
    public LoraVariant VariantOf(string name)
    {
        lock (_gate)
        {
            if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
            return _basis.TryGetValue(name, out var b) ? b.Variant : LoraVariant.Lora;
        }
    }

    /// <summary>The variant the targets ask for (all alike, or an error naming a layer of each); null for plain LoRA.</summary>
    private static LoraVariant? BasisVariant(string name, List<LoraTarget> targets)
    {
        var v = targets[0].Config.Variant;
        if (targets.FirstOrDefault(t => t.Config.Variant != v) is { } other)
            throw new InvalidOperationException($"Adapter '{name}' would be {v} on '{targets[0].Path}' and {other.Config.Variant} on '{other.Path}'; the variant is one setting per adapter. " +
                "Set Variant alike on every [Lora] and [LoraModel], or pass config: new() { Variant = ... }. Nothing was changed.");
        return v == LoraVariant.Lora ? null : v;
    }

    private LoraModelController AttachBasisLocked(string name, ulong seed, LoraOverride? config, List<LoraTarget> targets, LoraVariant variant)
    {
        var problems = new List<string>();
        foreach (var t in targets)
        {
            try { t.Config.Validate($"{t.Path} adapter '{name}'"); }
            catch (ArgumentException e) { problems.Add(e.Message); }
            if (t.Layer.Kind != LayerKind.Linear) problems.Add($"{t.Path}: {variant} adapts Linear layers only (this is an Embedding).");
            else if (t.Layer.Adapter is not (null or BasisSlot)) problems.Add($"{t.Path}: the layer already holds a {t.Layer.Adapter.GetType().Name}; {variant} and LoRA adapters cannot share a layer.");
            else if (t.Layer.Adapter is BasisSlot s && s.Adapters.ContainsKey(name)) problems.Add($"{t.Path}: an adapter named '{name}' already exists on this layer.");
        }
        var settings = BasisLayerSettings.Combine(variant, targets.Select(t => new BasisLayerSettings(t.Path, t.Config.Rank, t.Config.Alpha, t.Config.Dropout, t.Config.NolaBases)).ToList(),
            config?.ProjectionPrngKey, config?.SaveProjection, config?.DInitial, config?.NumBasisA, config?.NumBasisB, problems);
        if (config?.ModulesToSave is { Count: > 0 } || config?.TrainableTokenIndices is { Count: > 0 })
            problems.Add($"{variant} adapters support neither {nameof(LoraOverride.ModulesToSave)} nor {nameof(LoraOverride.TrainableTokenIndices)}.");
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems) + " Nothing was changed.");

        _model.Freeze();
        var rng = new Rng(seed ^ 0x4C6F5241UL);
        var projection = variant == LoraVariant.Vera
            ? VeraProjection.Generate(settings.Seed, settings.R, targets.Max(t => t.Layer.Weight.Dim(1)), targets.Max(t => t.Layer.Weight.Dim(0)))
            : null;
        foreach (var t in targets)
        {
            int outDim = t.Layer.Weight.Dim(0), inDim = t.Layer.Weight.Dim(1), r = settings.R;
            var dropoutRng = new Rng(rng.NextUInt() | (ulong)rng.NextUInt() << 32);
            IBasisAdapter ad;
            if (variant == LoraVariant.Vera)
                ad = new VeraAdapter(projection!, outDim, inDim, Tensor.Zeros(outDim), Tensor.Full((float)settings.DInitial, r), settings.Dropout, dropoutRng);
            else
            {
                var (ba, bb) = NolaBases.Generate(settings.Seed, t.Path, settings.NumBasisA, settings.NumBasisB, r, inDim, outDim);
                float bound = 1f / MathF.Sqrt(settings.NumBasisA);
                ad = new NolaAdapter(ba, bb, r, outDim, inDim, Tensor.Uniform(rng, -bound, bound, settings.NumBasisA), Tensor.Zeros(settings.NumBasisB),
                    (float)(settings.LoraAlpha / r), settings.Dropout, dropoutRng);
            }
            foreach (var p in ad.Parameters) p.RequiresGrad = true;
            BasisSlotOf(t.Layer, t.Path).Add(name, ad);
        }
        ApplyBias(targets);
        Register(name, trainable: true);
        _selection[name] = config?.Selection();
        _basis[name] = settings;
        if (_active != name) foreach (var aux in AuxSlots()) aux.SetActive(_active);
        return this;
    }

    private static BasisSlot BasisSlotOf(IAdaptableLayer layer, string path)
    {
        if (layer.Adapter is BasisSlot s) return s;
        var slot = new BasisSlot(layer, path);
        layer.Adapter = slot;
        return slot;
    }

    /// <summary>Saves a VeRA/NoLA adapter; false when <paramref name="name"/> is a LoRA adapter.</summary>
    private bool TrySaveBasis(string directory, string name, AdapterConfig? selection)
    {
        BasisAdapterConfig? settings;
        lock (_gate) settings = _basis.GetValueOrDefault(name);
        if (settings is null) return false;
        BasisAdapterFiles.Save(directory, name, LoraAdapterFiles.ModelLayers.Of(_model), settings, selection, Options);
        return true;
    }

    /// <summary>Loads a VeRA/NoLA directory; false when <paramref name="directory"/>'s <c>peft_type</c> is neither.</summary>
    private bool TryLoadBasisLocked(string directory, string name, bool isTrainable, bool allowNonFinite)
    {
        if (!BasisAdapterConfig.IsBasisType(BasisAdapterConfig.PeftTypeIn(directory))) return false;
        var (cfg, layers) = BasisAdapterFiles.Read(directory, LoraAdapterFiles.ModelLayers.Of(_model), name, allowNonFinite, Options.FanInFanOut);
        _model.Freeze();
        foreach (var l in layers)
        {
            foreach (var p in l.Adapter.Parameters) p.RequiresGrad = isTrainable;
            BasisSlotOf(l.Layer, l.Path).Add(name, l.Adapter);
        }
        Register(name, isTrainable);
        _selection[name] = cfg.Selection();
        _basis[name] = cfg with { TargetModules = null, ExcludeModules = null, LayersToTransform = null, LayersPattern = null };
        if (_active != name) foreach (var aux in AuxSlots()) aux.SetActive(_active);
        return true;
    }

    /// <summary>
    /// <see cref="HotSwap"/> when adapter <paramref name="name"/> or the file is VeRA/NoLA: the file must be the same
    /// variant with the same r (NoLA: the same k_A and k_B) over the same layers; its vectors, seed and projection may
    /// differ. Everything is read and checked first (<see cref="BasisAdapterFiles.Read"/>: keys, shapes, finite values,
    /// NoLA's metadata); any problem throws <see cref="LoraAdapterException"/> naming the directory and the key, layer or
    /// field, and nothing changes. Then each layer's <see cref="BasisSlot"/> publishes the new adapter in one snapshot.
    /// </summary>
    private void HotSwapBasisLocked(string directory, string name, bool allowNonFinite, string? filePeftType)
    {
        string Refuse(string why) => $"cannot hot-swap into adapter '{name}': {why}; nothing was changed";
        if (!_basis.TryGetValue(name, out var current))
            throw new LoraAdapterException(directory, Refuse($"{AdapterKeys.ConfigFile} says {ConfigFields.PeftType} \"{filePeftType}\" and adapter '{name}' is {ConfigFields.LoraPeftType}; a hot swap keeps the variant"));
        if (!BasisAdapterConfig.IsBasisType(filePeftType))
            throw new LoraAdapterException(directory, Refuse($"adapter '{name}' is {current.PeftType} and {AdapterKeys.ConfigFile} says {ConfigFields.PeftType} {(filePeftType is null ? "nothing readable" : $"\"{filePeftType}\"")}; a hot swap keeps the variant"));
        var model = LoraAdapterFiles.ModelLayers.Of(_model);
        var (cfg, layers) = BasisAdapterFiles.Read(directory, model, "\u0001hot-swap", allowNonFinite, Options.FanInFanOut);   // a name no layer holds: only the file is checked
        var problems = new List<string>();
        if (cfg.Variant != current.Variant) problems.Add($"the file is {cfg.PeftType}, adapter '{name}' is {current.PeftType}");
        else
        {
            if (cfg.R != current.R) problems.Add($"{ConfigFields.R} = {cfg.R} in {AdapterKeys.ConfigFile}, {current.R} in adapter '{name}'");
            if (cfg.Variant == LoraVariant.Nola && (cfg.NumBasisA != current.NumBasisA || cfg.NumBasisB != current.NumBasisB))
                problems.Add($"{ConfigFields.NumBasisA}/{ConfigFields.NumBasisB} = {cfg.NumBasisA}/{cfg.NumBasisB} in {AdapterKeys.ConfigFile}, {current.NumBasisA}/{current.NumBasisB} in adapter '{name}'");
        }
        var holding = model.Layers.Where(l => l.Layer.Adapter is BasisSlot s && s.Adapters.ContainsKey(name)).Select(l => l.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var l in layers)
        {
            if (!holding.Remove(l.Path)) problems.Add($"{l.Path}: adapter '{name}' does not adapt this layer");
            else if (l.Layer.Adapter is BasisSlot { IsMerged: true } slot && slot.Active == name) problems.Add($"{l.Path}: adapter '{name}' is merged; Unmerge() before swapping");
        }
        foreach (var p in holding) problems.Add($"{p}: adapter '{name}' adapts this layer, the file has no tensors for it");
        if (problems.Count > 0) throw new LoraAdapterException(directory, Refuse(string.Join("; ", problems)));
        foreach (var l in layers) ((BasisSlot)l.Layer.Adapter!).Replace(name, l.Adapter);
        _selection[name] = cfg.Selection();
        _basis[name] = cfg with { TargetModules = null, ExcludeModules = null, LayersToTransform = null, LayersPattern = null };
    }
}
