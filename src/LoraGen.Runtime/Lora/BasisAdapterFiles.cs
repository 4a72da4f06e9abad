using System.Globalization;
using LoraGen.Contract;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// VeRA and NoLA adapters to and from adapter directories, through the PEFT unit's atomic save/open
/// (<see cref="AdapterDirectory.SaveBasis"/>, <see cref="AdapterDirectory.OpenBasis"/>). VeRA is PEFT's layout:
/// <c>base_model.model.PATH.vera_lambda_b</c> [out], <c>….vera_lambda_d</c> [r] and, with <c>save_projection</c>,
/// <c>base_model.vera_A</c> [r, max_in] and <c>base_model.vera_B</c> [max_out, r]. NoLA is LoraGen's
/// (docs/nola-format.md): <c>….nola_alpha</c> [k_A], <c>….nola_beta</c> [k_B], the generator settings in the config
/// and in the weights' <c>__metadata__</c>.
/// </summary>
internal static class BasisAdapterFiles
{
    /// <summary>One layer's adapter as read from a file.</summary>
    internal sealed record LoadedLayer(string Path, IAdaptableLayer Layer, IBasisAdapter Adapter);

    /// <summary>Writes adapter <paramref name="name"/> (every layer whose <see cref="BasisSlot"/> holds it).</summary>
    public static void Save(string directory, string name, LoraAdapterFiles.ModelLayers model, BasisAdapterConfig settings, AdapterConfig? selection, LoraModelOptions options)
    {
        var tensors = new List<SafetensorsEntry>();
        var paths = new List<string>();
        VeraProjection? projection = null;
        foreach (var (path, layer, _) in model.Layers)
        {
            if (layer.Adapter is not BasisSlot slot || !slot.Adapters.TryGetValue(name, out var ad)) continue;
            paths.Add(path);
            switch (ad)
            {
                case VeraAdapter v:
                    tensors.Add(v.LambdaB.ToEntry(PeftKeys.VeraLambdaBKey(path)));
                    tensors.Add(v.LambdaD.ToEntry(PeftKeys.VeraLambdaDKey(path)));
                    projection = v.Projection;
                    break;
                case NolaAdapter n:
                    tensors.Add(n.Alpha.ToEntry(PeftKeys.NolaAlphaKey(path)));
                    tensors.Add(n.Beta.ToEntry(PeftKeys.NolaBetaKey(path)));
                    break;
            }
        }
        if (paths.Count == 0) throw new InvalidOperationException($"Adapter '{name}' adapts no layer.");
        IReadOnlyDictionary<string, string>? meta;
        if (settings.Variant == LoraVariant.Vera && settings.SaveProjection)
        {
            tensors.Add(projection!.A.ToEntry(PeftKeys.VeraSharedA));
            tensors.Add(projection.B.ToEntry(PeftKeys.VeraSharedB));
        }
        meta = settings.WeightsMetadata();   // NoLA: the generator settings (the PEFT unit's one list)
        var names = new AdapterConfig { TargetModules = OneOrMany<string>.Many(paths.Select(ModulePath.LastSegment).Distinct().Order(StringComparer.Ordinal)) };
        var chosen = names.SelectingExactly(paths, model.Kinds, selection, model.Aliases);
        var config = settings with
        {
            TargetModules = chosen.TargetModules,
            ExcludeModules = chosen.ExcludeModules,
            LayersToTransform = chosen.LayersToTransform,
            LayersPattern = chosen.LayersPattern,
            FanInFanOut = options.FanInFanOut,
            BaseModelNameOrPath = settings.BaseModelNameOrPath ?? options.BaseModelName,
        };
        AdapterDirectory.SaveBasis(directory, config, tensors, meta);
    }

    /// <summary>
    /// Reads a VeRA or NoLA adapter directory for <paramref name="model"/>: every key checked by name and shape (one
    /// <see cref="LoraAdapterException"/> listing missing, unexpected and mis-shaped keys), values finite unless
    /// <paramref name="allowNonFinite"/>, NoLA's metadata equal to its config; nothing in the model changes.
    /// </summary>
    public static (BasisAdapterConfig Config, List<LoadedLayer> Layers) Read(string directory, LoraAdapterFiles.ModelLayers model, string name, bool allowNonFinite, bool fanInFanOutModel)
    {
        BasisAdapterConfig cfg;
        SafetensorsFile file;
        try { (cfg, file) = AdapterDirectory.OpenBasis(directory); }
        catch (Exception e) when (e is AdapterConfigException or AdapterDirectoryException or SafetensorsException or NoAdapterException)
        {
            throw new LoraAdapterException(directory, e.Message, inner: e);
        }
        using (file)
        {
            if (cfg.FanInFanOut && !fanInFanOutModel)
                throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: transposed ({ConfigFields.FanInFanOut}, Conv1D) layouts need a model that declares them.");
            bool vera = cfg.Variant == LoraVariant.Vera;
            string KeyB(string p) => vera ? PeftKeys.VeraLambdaBKey(p) : PeftKeys.NolaAlphaKey(p);
            var selected = model.Select(cfg.Selection());
            var wanted = new List<(string Path, string KeyPath, IAdaptableLayer Layer)>();
            foreach (var (path, layer, _) in model.Layers)
            {
                var keyPath = model.PathsOf(path).FirstOrDefault(p => file.Contains(KeyB(p)));
                if (keyPath is null && !selected.Contains(path)) continue;
                wanted.Add((path, keyPath ?? path, layer));
            }
            if (wanted.Count == 0) throw new LoraAdapterException(directory, $"the {cfg.PeftType} adapter adapts no layer of this model.");
            var problems = new List<string>();
            foreach (var w in wanted)
            {
                if (w.Layer.Kind != LayerKind.Linear) problems.Add($"{w.Path}: {cfg.PeftType} adapts Linear layers only");
                else if (w.Layer.Adapter is not (null or BasisSlot)) problems.Add($"{w.Path}: the layer already holds a {w.Layer.Adapter.GetType().Name}");
                else if (w.Layer.Adapter is BasisSlot s && s.Adapters.ContainsKey(name)) problems.Add($"{w.Path}: an adapter named '{name}' already exists on this layer");
            }
            if (problems.Count > 0) throw new LoraAdapterException(directory, string.Join("; ", problems));
            int r = cfg.R, maxIn = wanted.Max(w => w.Layer.Weight.Dim(1)), maxOut = wanted.Max(w => w.Layer.Weight.Dim(0));
            var expected = new List<(string Key, long[] Shape)>();
            foreach (var w in wanted)
            {
                long outDim = w.Layer.Weight.Dim(0);
                if (vera)
                {
                    expected.Add((PeftKeys.VeraLambdaBKey(w.KeyPath), [outDim]));
                    expected.Add((PeftKeys.VeraLambdaDKey(w.KeyPath), [r]));
                }
                else
                {
                    expected.Add((PeftKeys.NolaAlphaKey(w.KeyPath), [cfg.NumBasisA]));
                    expected.Add((PeftKeys.NolaBetaKey(w.KeyPath), [cfg.NumBasisB]));
                }
            }
            bool hasProjection = vera && (file.Contains(PeftKeys.VeraSharedA) || file.Contains(PeftKeys.VeraSharedB));
            if (vera && (cfg.SaveProjection || hasProjection))
            {
                // PEFT sizes them for the largest adapted layer; larger ones (saved from a bigger model) slice the same.
                long aCols = file.Contains(PeftKeys.VeraSharedA) && file.Info(PeftKeys.VeraSharedA).Shape is { Length: 2 } sa && sa[1] >= maxIn ? sa[1] : maxIn;
                long bRows = file.Contains(PeftKeys.VeraSharedB) && file.Info(PeftKeys.VeraSharedB).Shape is { Length: 2 } sb && sb[0] >= maxOut ? sb[0] : maxOut;
                expected.Add((PeftKeys.VeraSharedA, [r, aCols]));
                expected.Add((PeftKeys.VeraSharedB, [bRows, r]));
            }
            var match = file.Match(expected);
            if (!match.IsExact) throw new LoraAdapterException(directory, $"the {cfg.PeftType} adapter does not fit this model", match.Missing, match.Unexpected, match.Mismatched);
            if (cfg.MetadataConflict(file.Metadata) is { } conflict) throw new LoraAdapterException(directory, conflict);

            Tensor Load(string key)
            {
                var t = file.LoadTensor(key);
                if (!allowNonFinite)
                    for (int i = 0; i < t.Size; i++)
                        if (!float.IsFinite(t.Data[i]))
                            problems.Add($"{key} holds a non-finite value ({t.Data[i].ToString(CultureInfo.InvariantCulture)} at index {i}); load with allowNonFinite: true to accept it");
                return t;
            }
            var projection = !vera ? null
                : hasProjection ? new VeraProjection(Load(PeftKeys.VeraSharedA), Load(PeftKeys.VeraSharedB), cfg.Seed)
                : VeraProjection.Generate(cfg.Seed, r, maxIn, maxOut);
            var loaded = new List<LoadedLayer>(wanted.Count);
            foreach (var w in wanted)
            {
                int outDim = w.Layer.Weight.Dim(0), inDim = w.Layer.Weight.Dim(1);
                var dropoutRng = new Rng(NolaBases.LayerSeed(cfg.Seed, w.Path));
                IBasisAdapter ad;
                if (vera)
                    ad = new VeraAdapter(projection!, outDim, inDim, Load(PeftKeys.VeraLambdaBKey(w.KeyPath)), Load(PeftKeys.VeraLambdaDKey(w.KeyPath)), cfg.Dropout, dropoutRng);
                else
                {
                    var (ba, bb) = NolaBases.Generate(cfg.Seed, w.KeyPath, cfg.NumBasisA, cfg.NumBasisB, r, inDim, outDim);
                    ad = new NolaAdapter(ba, bb, r, outDim, inDim, Load(PeftKeys.NolaAlphaKey(w.KeyPath)), Load(PeftKeys.NolaBetaKey(w.KeyPath)),
                        (float)(cfg.LoraAlpha / r), cfg.Dropout, dropoutRng);
                }
                loaded.Add(new LoadedLayer(w.Path, w.Layer, ad));
            }
            if (problems.Count > 0) throw new LoraAdapterException(directory, string.Join("; ", problems));
            return (cfg, loaded);
        }
    }
}
