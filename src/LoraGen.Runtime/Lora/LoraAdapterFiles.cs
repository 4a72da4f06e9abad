using LoraGen.Contract;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// Maps a model's LoRA adapters to and from PEFT adapter directories. Keys, config fields, the directory's atomic
/// save and its recovery are the PEFT unit's (<see cref="AdapterKeys"/>, <see cref="AdapterConfig"/>,
/// <see cref="AdapterDirectory"/>); this type only pairs them with layers and tensors.
/// </summary>
internal static class LoraAdapterFiles
{
    /// <summary>Writes adapter <paramref name="name"/> of <paramref name="layers"/> to <paramref name="directory"/> as one unit.</summary>
    public static void Save(string directory, string name, IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> layers,
        LoraModelOptions options)
    {
        var tensors = new List<SafetensorsEntry>();
        var adapted = new List<(string Path, LoraAdapter Adapter)>();
        var settings = new List<AdapterLayerSettings>();
        var bias = options.Bias;
        foreach (var (path, layer, spec) in layers)
        {
            if (spec is not null && spec.Bias > bias) bias = spec.Bias;
            if (layer.Lora is not { } slot || !slot.Adapters.TryGetValue(name, out var ad)) continue;
            var (a, b, setting) = ad.Initial is { } initial ? AsPlainLora(path, ad, initial.A, initial.B) : (ad.A, ad.B, SettingsOf(path, ad));
            tensors.Add(a.ToEntry(AdapterKeys.A(path, slot.Kind)));
            tensors.Add(b.ToEntry(AdapterKeys.B(path, slot.Kind)));
            settings.Add(setting);
            if (ad.Magnitude is not null) tensors.Add(ad.Magnitude.ToEntry(AdapterKeys.Magnitude(path)));
            adapted.Add((path, ad));
        }
        if (adapted.Count == 0) throw new InvalidOperationException($"Adapter '{name}' has no layers.");
        AdapterDirectory.Save(directory, AdapterConfig.FromLayers(settings, bias, options.BaseModelName) with { FanInFanOut = options.FanInFanOut }, tensors);
    }

    private static AdapterLayerSettings SettingsOf(string path, LoraAdapter ad) =>
        new(path, ad.Config.Rank, ad.Config.Alpha, ad.Config.Dropout, ad.Config.UseRsLora, ad.Config.Init, ad.Config.UseDora);

    /// <summary>
    /// A PiSSA/OLoRA adapter as plain LoRA relative to the original W, as PEFT's
    /// <c>path_initial_model_for_weight_conversion</c> saves it: W_res + s·BA = W + s·(BA − B₀A₀), so A' = [A; A₀]
    /// [2r, in] and B' = [B, −B₀] [out, 2r], with r' = 2r and α' = 2α (α·√2 with rsLoRA) keeping the scaling.
    /// </summary>
    private static (Tensor A, Tensor B, AdapterLayerSettings Settings) AsPlainLora(string path, LoraAdapter ad, Tensor a0, Tensor b0)
    {
        int r = ad.Config.Rank, inDim = ad.A.Dim(1), outDim = ad.B.Dim(0);
        var a = Tensor.Empty(2 * r, inDim);
        ad.A.Data.CopyTo(a.Data);
        a0.Data.CopyTo(a.Data[(r * inDim)..]);
        var b = Tensor.Empty(outDim, 2 * r);
        for (int o = 0; o < outDim; o++)
            for (int c = 0; c < r; c++)
            {
                b.Data[o * 2 * r + c] = ad.B.Data[o * r + c];
                b.Data[o * 2 * r + r + c] = -b0.Data[o * r + c];
            }
        double alpha = ad.Config.UseRsLora ? ad.Config.Alpha * Math.Sqrt(2) : 2 * ad.Config.Alpha;
        return (a, b, new AdapterLayerSettings(path, 2 * r, alpha, ad.Config.Dropout, ad.Config.UseRsLora, LoraInit.Kaiming, ad.Config.UseDora));
    }

    /// <summary>One layer's adapter as read from a file, checked and ready to attach.</summary>
    internal sealed record LoadedLayer(string Path, IAdaptableLayer Layer, LoraConfig Config, Tensor A, Tensor B, Tensor? Magnitude);

    /// <summary>
    /// Reads a PEFT adapter directory (ours or PEFT's) for <paramref name="layers"/>: every layer the config targets, or
    /// whose keys the file holds, must have both matrices with shapes [r, in] and [out, r] for its rank; nothing else
    /// may be in the file. Every problem is reported by key in one <see cref="LoraAdapterException"/>; nothing changes.
    /// Everything that could make attaching fail is checked here, before the caller touches the model: the config's
    /// rules, <c>target_modules</c> matching at least one layer, each layer's settings and free adapter name
    /// <paramref name="name"/>, and (unless <paramref name="allowNonFinite"/>) finite values in every A and B.
    /// </summary>
    public static List<LoadedLayer> Read(string directory, IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> layers,
        string name, bool allowNonFinite, bool fanInFanOutModel = false)
    {
        using var files = Open(directory);
        var cfg = files.Config;
        if (cfg.InitLoraWeights.Method is { } method && (method.StartsWith(ConfigFields.InitPissa, StringComparison.Ordinal) || method == ConfigFields.InitOlora))
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: {ConfigFields.InitLoraWeights} is \"{method}\": this adapter's A and B are relative to the residual weights of that initialisation, not to the base model. " +
                "Save it converted to plain LoRA (PEFT: save_pretrained(path_initial_model_for_weight_conversion=...); LoraGen converts when it saves).");
        if (cfg.FanInFanOut && !fanInFanOutModel)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: transposed ({ConfigFields.FanInFanOut}, Conv1D) layouts are not supported yet.");
        var file = files.Weights;
        var expected = new List<(string Key, long[] Shape)>();
        var wanted = new List<(string Path, IAdaptableLayer Layer, int Rank)>();
        foreach (var (path, layer, _) in layers)
        {
            var kind = layer.Kind;
            string ka = AdapterKeys.A(path, kind), kb = AdapterKeys.B(path, kind);
            if (!file.Contains(ka) && !file.Contains(kb) && !cfg.IsTargeted(path, kind)) continue;
            int rank = cfg.RankFor(path);
            long inDim = kind == LayerKind.Linear ? layer.Weight.Dim(1) : layer.Weight.Dim(0);
            long outDim = kind == LayerKind.Linear ? layer.Weight.Dim(0) : layer.Weight.Dim(1);
            expected.Add((ka, [rank, inDim]));
            expected.Add((kb, [outDim, rank]));
            if (cfg.UseDora) expected.Add((AdapterKeys.Magnitude(path), [outDim]));   // DoRA's m: [out] or [dim]
            wanted.Add((path, layer, rank));
        }
        var match = file.Match(expected);
        if (!match.IsExact)
            throw new LoraAdapterException(directory, "the adapter does not fit this model", match.Missing, match.Unexpected, match.Mismatched);
        if (wanted.Count == 0) throw new LoraAdapterException(directory, "the adapter holds no LoRA tensors.");
        if (cfg.TargetModules is not null && !layers.Any(l => cfg.IsTargeted(l.Path, l.Layer.Kind)))
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: \"{ConfigFields.TargetModules}\" matches no layer of this model.");
        var init = cfg.InitLoraWeights == InitLoraWeights.Gaussian ? LoraInit.Gaussian : LoraInit.Kaiming;
        var loaded = new List<LoadedLayer>(wanted.Count);
        var problems = new List<string>();
        foreach (var w in wanted)
        {
            var config = new LoraConfig(w.Rank, cfg.AlphaFor(w.Path), cfg.LoraDropout, init, cfg.UseRsLora, cfg.UseDora);
            if (LoraLayer.ProblemAdding(w.Layer, w.Path, name, config) is { } problem) { problems.Add(problem); continue; }
            string ka = AdapterKeys.A(w.Path, w.Layer.Kind), kb = AdapterKeys.B(w.Path, w.Layer.Kind);
            var a = file.LoadTensor(ka);
            var b = file.LoadTensor(kb);
            string km = AdapterKeys.Magnitude(w.Path);
            var m = cfg.UseDora ? file.LoadTensor(km) : null;
            if (!allowNonFinite)
            {
                foreach (var (key, t) in m is null ? new[] { (ka, a), (kb, b) } : [(ka, a), (kb, b), (km, m)])
                    if (IndexOfNonFinite(t.Data) is var i and >= 0)
                        problems.Add($"{key} holds a non-finite value ({t.Data[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {i}); load with allowNonFinite: true to accept it");
            }
            loaded.Add(new LoadedLayer(w.Path, w.Layer, config, a, b, m));
        }
        if (problems.Count > 0) throw new LoraAdapterException(directory, string.Join("; ", problems));
        return loaded;
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> xs)
    {
        for (int i = 0; i < xs.Length; i++) if (!float.IsFinite(xs[i])) return i;
        return -1;
    }

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
