using System.Globalization;
using LoraGen.Bases;
using LoraGen.Contract;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

// VeRA and NoLA (LoraVariant.Vera/Nola) on the TorchSharp backend: attach, save and load, with the managed backend's
// semantics and file bytes. The random matrices come from the PEFT unit's one copy of each generator
// (VeraProjections, NolaBasisGenerator); files go through AdapterDirectory.SaveBasis/OpenBasis.
public sealed partial class TorchLoraModelController
{
    /// <summary>A VeRA/NoLA adapter's settings (for Save) and, for VeRA, its shared projection A [r, max_in], B [max_out, r].</summary>
    private sealed record BasisState(BasisAdapterConfig Settings, float[]? ProjectionA, float[]? ProjectionB, long MaxIn, long MaxOut);

    private readonly Dictionary<string, BasisState> _basis = new(StringComparer.Ordinal);

    /// <summary>The variant of adapter <paramref name="name"/>: <see cref="LoraVariant.Vera"/>, <see cref="LoraVariant.Nola"/> or <see cref="LoraVariant.Lora"/>.</summary>
    public LoraVariant VariantOf(string name)
    {
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        return _basis.TryGetValue(name, out var b) ? b.Settings.Variant : LoraVariant.Lora;
    }

    /// <summary>Every VeRA/NoLA layer under the root with the module path of the Linear it adapts, in module order.</summary>
    private List<(string Path, TorchBasisLayer Layer)> BasisLayers()
    {
        var found = new List<(string, TorchBasisLayer)>();
        foreach (var (path, module) in _model.named_modules())
            if (module is TorchBasisLayer layer)
            {
                int dot = path.LastIndexOf('.');
                found.Add((ModulePath.Join(dot < 0 ? "" : path[..dot], layer.TargetPath), layer));
            }
        return found;
    }

    /// <summary>Every adapted layer, LoRA and VeRA/NoLA.</summary>
    private IEnumerable<ITorchAdapterLayer> AdapterLayers() =>
        LoraLayers().Values.Cast<ITorchAdapterLayer>().Concat(BasisLayers().Select(l => l.Layer));

    /// <summary>The trainable VeRA/NoLA tensors of the active adapter.</summary>
    private IEnumerable<Parameter> BasisParameters() =>
        _active is null ? [] : BasisLayers().Where(l => l.Layer.Adapters.ContainsKey(_active)).SelectMany(l => l.Layer.Adapters[_active].Trainable()).Where(p => p.requires_grad);

    private void AttachBasis(string name, ulong seed, TorchLoraOverride? config, List<TorchLoraTarget> targets, LoraVariant variant)
    {
        var problems = new List<string>();
        var lora = LoraLayers();
        var basisLayers = BasisLayers().ToDictionary(l => l.Path, l => l.Layer, StringComparer.Ordinal);
        foreach (var t in targets)
        {
            if (t.Kind != LayerKind.Linear) problems.Add($"{t.Path}: {variant} adapts Linear layers only (this is an Embedding).");
            else if (lora.ContainsKey(t.Path)) problems.Add($"{t.Path}: the layer already holds LoRA adapters; {variant} and LoRA adapters cannot share a layer.");
            else if (basisLayers.TryGetValue(t.Path, out var bl) && bl.Adapters.ContainsKey(name)) problems.Add($"{t.Path}: an adapter named '{name}' already exists on this layer.");
        }
        var settings = BasisLayerSettings.Combine(variant, targets.Select(t => new BasisLayerSettings(t.Path, t.Config.Rank, t.Config.Alpha, t.Config.Dropout, t.Config.NolaBases)).ToList(),
            config?.ProjectionPrngKey, config?.SaveProjection, config?.DInitial, config?.NumBasisA, config?.NumBasisB, problems);
        if (config?.FreezeA == true) problems.Add($"{variant} has no trainable A to freeze ({nameof(TorchLoraOverride.FreezeA)}).");
        if (config?.NumBasisA is < 1 || config?.NumBasisB is < 1) problems.Add("NoLA needs at least one basis (k ≥ 1).");
        if (config?.ProjectionPrngKey is < 0) problems.Add("a seed is non-negative.");
        if (config?.DInitial is { } di && !double.IsFinite(di)) problems.Add($"{nameof(TorchLoraOverride.DInitial)} must be finite.");
        if (problems.Count > 0) throw new InvalidOperationException(string.Join(" ", problems) + " Nothing was changed.");

        int r = settings.R;
        var shapes = targets.Select(t => WeightShape(t.Layer)).ToList();
        long maxIn = shapes.Max(s => s[1]), maxOut = shapes.Max(s => s[0]);
        float[]? pa = null, pb = null;
        if (variant == LoraVariant.Vera) (pa, pb) = VeraProjections.Generate(settings.Seed, r, (int)maxIn, (int)maxOut);
        var candidates = AllLayers().ToDictionary(c => c.Path, StringComparer.Ordinal);
        using var generator = new Generator(seed ^ 0x4C6F5241UL);
        for (int i = 0; i < targets.Count; i++)
        {
            var t = targets[i];
            long outDim = shapes[i][0], inDim = shapes[i][1];
            var layer = basisLayers.TryGetValue(t.Path, out var l) ? l : AttachBasisTo(candidates[t.Path]);
            var (device, dtype) = Placement(layer.Target);
            TorchBasisAdapter ad;
            using (torch.no_grad())
            {
                if (variant == LoraVariant.Vera)
                    ad = NewVera(name, settings, pa!, pb!, maxIn, outDim, inDim, torch.zeros([outDim], dtype: dtype, device: device), torch.full([r], settings.DInitial, dtype: dtype, device: device));
                else
                {
                    double bound = 1.0 / Math.Sqrt(settings.NumBasisA);
                    var alpha = torch.empty([settings.NumBasisA], dtype: dtype, device: device);
                    nn.init.uniform_(alpha, -bound, bound, generator);
                    ad = NewNola(name, settings, t.Path, outDim, inDim, alpha, torch.zeros([settings.NumBasisB], dtype: dtype, device: device));
                }
            }
            layer.Add(ad);
        }
        TorchLoraModules.FreezeBase(_model);
        ApplyBias(targets);
        Register(name);
        _selection[name] = config?.Selection();
        _basis[name] = new BasisState(settings, pa, pb, maxIn, maxOut);
        SyncBasisActive();
    }

    /// <summary>A VeRA adapter for a layer [out, in] over the projection (A [r, maxIn], B [≥ out, r]); takes ownership of λ_b and λ_d.</summary>
    private static TorchBasisAdapter NewVera(string name, BasisAdapterConfig s, float[] projA, float[] projB, long aCols, long outDim, long inDim, Tensor lambdaB, Tensor lambdaD)
    {
        int r = s.R;
        using var fullA = torch.tensor(projA, [r, aCols]);
        using var fullB = torch.tensor(projB, [projB.Length / r, r]);
        using var sliceA = fullA.narrow(1, 0, inDim);
        using var sliceB = fullB.narrow(0, 0, outDim);
        var a = sliceA.to(lambdaB.dtype, lambdaB.device, copy: true).contiguous();
        var b = sliceB.to(lambdaB.dtype, lambdaB.device, copy: true).contiguous();
        return new TorchBasisAdapter(name, LoraVariant.Vera, r, 1.0, s.Dropout, outDim, inDim, lambdaB, lambdaD, a, b);
    }

    /// <summary>A NoLA adapter for the layer at <paramref name="path"/> [out, in], bases from the generator; takes ownership of α and β.</summary>
    private static TorchBasisAdapter NewNola(string name, BasisAdapterConfig s, string path, long outDim, long inDim, Tensor alpha, Tensor beta)
    {
        int r = s.R;
        var (ba, bb) = NolaBasisGenerator.Generate(s.Seed, path, s.NumBasisA, s.NumBasisB, r, (int)inDim, (int)outDim);
        using var ta = torch.tensor(ba, [s.NumBasisA, r * inDim]);
        using var tb = torch.tensor(bb, [s.NumBasisB, outDim * r]);
        return new TorchBasisAdapter(name, LoraVariant.Nola, r, (float)(s.LoraAlpha / r), s.Dropout, outDim, inDim, alpha, beta,
            ta.to(alpha.dtype, alpha.device, copy: true), tb.to(alpha.dtype, alpha.device, copy: true));
    }

    private static TorchBasisLayer AttachBasisTo(Candidate c) => TorchBasisLayer.Attach(c.Owner, (Linear)c.Layer, c.Path[(c.Path.LastIndexOf('.') + 1)..]);

    private static (Device Device, ScalarType DType) Placement(Linear layer)
    {
        var w = layer.weight!;
        return (w.device, TorchLoraAdapter.AdapterDType(w.dtype));
    }

    /// <summary>Each VeRA/NoLA layer computes the facade's active adapter (none when it is a LoRA adapter or the layer lacks it).</summary>
    private void SyncBasisActive()
    {
        foreach (var (_, layer) in BasisLayers()) layer.SetActive(_active);
    }

    /// <summary>Saves a VeRA/NoLA adapter (the managed backend's bytes for the same values); false when <paramref name="name"/> is a LoRA adapter.</summary>
    private bool TrySaveBasis(string directory, string name)
    {
        if (!_basis.TryGetValue(name, out var state)) return false;
        var s = state.Settings;
        var tensors = new List<SafetensorsEntry>();
        var paths = new List<string>();
        foreach (var (path, layer) in BasisLayers())
        {
            if (!layer.Adapters.TryGetValue(name, out var ad)) continue;
            paths.Add(path);
            if (s.Variant == LoraVariant.Vera)
            {
                tensors.Add(TorchSafetensors.ToEntry(PeftKeys.VeraLambdaBKey(path), ad.First));
                tensors.Add(TorchSafetensors.ToEntry(PeftKeys.VeraLambdaDKey(path), ad.Second));
            }
            else
            {
                tensors.Add(TorchSafetensors.ToEntry(PeftKeys.NolaAlphaKey(path), ad.First));
                tensors.Add(TorchSafetensors.ToEntry(PeftKeys.NolaBetaKey(path), ad.Second));
            }
        }
        if (paths.Count == 0) throw new InvalidOperationException($"Adapter '{name}' adapts no layer.");
        if (s.Variant == LoraVariant.Vera && s.SaveProjection)
        {
            tensors.Add(SafetensorsEntry.FromFloats(PeftKeys.VeraSharedA, [s.R, state.MaxIn], state.ProjectionA!));
            tensors.Add(SafetensorsEntry.FromFloats(PeftKeys.VeraSharedB, [state.ProjectionB!.Length / s.R, s.R], state.ProjectionB));
        }
        var kinds = AllLayers().Select(c => (c.Path, c.Kind)).ToList();
        var names = new AdapterConfig { TargetModules = OneOrMany<string>.Many(paths.Select(ModulePath.LastSegment).Distinct().Order(StringComparer.Ordinal)) };
        var chosen = names.SelectingExactly(paths, kinds, _selection.GetValueOrDefault(name));
        var config = s with
        {
            TargetModules = chosen.TargetModules,
            ExcludeModules = chosen.ExcludeModules,
            LayersToTransform = chosen.LayersToTransform,
            LayersPattern = chosen.LayersPattern,
            BaseModelNameOrPath = s.BaseModelNameOrPath ?? Options.BaseModelName,
        };
        AdapterDirectory.SaveBasis(directory, config, tensors, s.WeightsMetadata());
        return true;
    }

    /// <summary>
    /// Loads a VeRA/NoLA directory (the managed backend's, or PEFT's VERA); false when its <c>peft_type</c> is neither.
    /// Every key is checked by name and shape, and NoLA's metadata against its config, before anything changes.
    /// </summary>
    private bool TryLoadBasis(string directory, string name)
    {
        if (!BasisAdapterConfig.IsBasisType(BasisAdapterConfig.PeftTypeIn(directory))) return false;
        BasisAdapterConfig cfg;
        SafetensorsFile file;
        try { (cfg, file) = AdapterDirectory.OpenBasis(directory); }
        catch (Exception e) when (e is AdapterConfigException or AdapterDirectoryException or SafetensorsException or NoAdapterException)
        {
            throw new LoraAdapterException(directory, e.Message, inner: e);
        }
        using (file)
        {
            if (cfg.FanInFanOut)
                throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: transposed ({ConfigFields.FanInFanOut}, Conv1D) layouts are not supported on the TorchSharp backend.");
            bool vera = cfg.Variant == LoraVariant.Vera;
            string KeyOf(string p) => vera ? PeftKeys.VeraLambdaBKey(p) : PeftKeys.NolaAlphaKey(p);
            var all = AllLayers();
            var selected = cfg.Selection().SelectLayers(all.Select(c => (c.Path, c.Kind)).ToList()).ToHashSet(StringComparer.Ordinal);
            var wanted = all.Where(c => file.Contains(KeyOf(c.Path)) || selected.Contains(c.Path)).ToList();
            if (wanted.Count == 0) throw new LoraAdapterException(directory, $"the {cfg.PeftType} adapter adapts no layer of this model.");
            var lora = LoraLayers();
            var basisLayers = BasisLayers().ToDictionary(l => l.Path, l => l.Layer, StringComparer.Ordinal);
            var problems = new List<string>();
            foreach (var w in wanted)
            {
                if (w.Kind != LayerKind.Linear) problems.Add($"{w.Path}: {cfg.PeftType} adapts Linear layers only");
                else if (lora.ContainsKey(w.Path)) problems.Add($"{w.Path}: the layer already holds LoRA adapters");
                else if (basisLayers.TryGetValue(w.Path, out var bl) && bl.Adapters.ContainsKey(name)) problems.Add($"{w.Path}: an adapter named '{name}' already exists on this layer");
            }
            if (problems.Count > 0) throw new LoraAdapterException(directory, string.Join("; ", problems));
            int r = cfg.R;
            var shapes = wanted.Select(w => WeightShape(w.Layer)).ToList();
            long maxIn = shapes.Max(s => s[1]), maxOut = shapes.Max(s => s[0]);
            var expected = new List<(string Key, long[] Shape)>();
            for (int i = 0; i < wanted.Count; i++)
            {
                if (vera)
                {
                    expected.Add((PeftKeys.VeraLambdaBKey(wanted[i].Path), [shapes[i][0]]));
                    expected.Add((PeftKeys.VeraLambdaDKey(wanted[i].Path), [r]));
                }
                else
                {
                    expected.Add((PeftKeys.NolaAlphaKey(wanted[i].Path), [cfg.NumBasisA]));
                    expected.Add((PeftKeys.NolaBetaKey(wanted[i].Path), [cfg.NumBasisB]));
                }
            }
            bool hasProjection = vera && (file.Contains(PeftKeys.VeraSharedA) || file.Contains(PeftKeys.VeraSharedB));
            long aCols = maxIn, bRows = maxOut;
            if (vera && (cfg.SaveProjection || hasProjection))
            {
                // PEFT sizes them for the largest adapted layer; larger ones (saved from a bigger model) slice the same.
                if (file.Contains(PeftKeys.VeraSharedA) && file.Info(PeftKeys.VeraSharedA).Shape is { Length: 2 } sa && sa[1] >= maxIn) aCols = sa[1];
                if (file.Contains(PeftKeys.VeraSharedB) && file.Info(PeftKeys.VeraSharedB).Shape is { Length: 2 } sb && sb[0] >= maxOut) bRows = sb[0];
                expected.Add((PeftKeys.VeraSharedA, [r, aCols]));
                expected.Add((PeftKeys.VeraSharedB, [bRows, r]));
            }
            var match = file.Match(expected);
            if (!match.IsExact) throw new LoraAdapterException(directory, $"the {cfg.PeftType} adapter does not fit this model", match.Missing, match.Unexpected, match.Mismatched);
            if (cfg.MetadataConflict(file.Metadata) is { } conflict) throw new LoraAdapterException(directory, conflict);

            float[]? pa = null, pb = null;
            if (hasProjection) (pa, pb) = (file.ReadFloats(PeftKeys.VeraSharedA), file.ReadFloats(PeftKeys.VeraSharedB));
            else if (vera) (pa, pb) = VeraProjections.Generate(cfg.Seed, r, (int)maxIn, (int)maxOut);
            var made = new List<(Candidate Layer, TorchBasisAdapter Adapter)>();
            for (int i = 0; i < wanted.Count; i++)
            {
                var w = wanted[i];
                long outDim = shapes[i][0], inDim = shapes[i][1];
                var (device, dtype) = Placement((Linear)w.Layer);
                using var first = TorchSafetensors.ReadTensor(file, vera ? PeftKeys.VeraLambdaBKey(w.Path) : PeftKeys.NolaAlphaKey(w.Path));
                using var second = TorchSafetensors.ReadTensor(file, vera ? PeftKeys.VeraLambdaDKey(w.Path) : PeftKeys.NolaBetaKey(w.Path));
                var f = first.to(dtype, device, copy: true);
                var s = second.to(dtype, device, copy: true);
                made.Add((w, vera ? NewVera(name, cfg, pa!, pb!, hasProjection ? aCols : maxIn, outDim, inDim, f, s) : NewNola(name, cfg, w.Path, outDim, inDim, f, s)));
            }
            foreach (var (w, ad) in made)
            {
                var layer = basisLayers.TryGetValue(w.Path, out var l) ? l : AttachBasisTo(w);
                layer.Add(ad);
            }
            TorchLoraModules.FreezeBase(_model);
            Register(name);
            _selection[name] = cfg.Selection();
            _basis[name] = new BasisState(cfg with { TargetModules = null, ExcludeModules = null, LayersToTransform = null, LayersPattern = null },
                pa, pb, hasProjection ? aCols : maxIn, hasProjection ? bRows : maxOut);
            SyncBasisActive();
            return true;
        }
    }
}
