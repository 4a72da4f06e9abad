using LoraGen.Combine;
using LoraGen.Contract;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// Maps a model's LoRA adapters to and from PEFT adapter directories. Keys, config fields, the set of adapted layers
/// (<see cref="AdapterConfig.SelectLayers"/>), the directory's atomic save and its recovery are the PEFT unit's
/// (<see cref="AdapterKeys"/>, <see cref="AdapterConfig"/>, <see cref="AdapterDirectory"/>); this type only pairs them
/// with layers and tensors.
/// </summary>
internal static class LoraAdapterFiles
{
    /// <summary>A model's adaptable layers, as <see cref="AdaptableLayers.Find"/> lists them.</summary>
    internal readonly record struct ModelLayers(
        IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> Layers,
        IReadOnlyDictionary<string, IReadOnlyList<string>> Aliases)
    {
        public static ModelLayers Of(Module model) => new(AdaptableLayers.Find(model), AdaptableLayers.Aliases(model));

        /// <summary>
        /// The first paths of the layers <paramref name="config"/> adapts (<see cref="AdapterConfig.SelectLayers"/>); a
        /// shared layer is selected when any of its paths is.
        /// </summary>
        public HashSet<string> Select(AdapterConfig config) => config.SelectLayers(Kinds, Aliases).ToHashSet(StringComparer.Ordinal);

        /// <summary>Each layer once, by its first path, with its kind, in module order (what the PEFT unit's selection reads).</summary>
        public IReadOnlyList<(string Path, LayerKind Kind)> Kinds => Layers.Select(l => (l.Path, l.Layer.Kind)).ToList();

        /// <summary>Whether the layer at <paramref name="path"/> (its first path) is <paramref name="name"/> or ends with "." + it under any of its paths.</summary>
        public bool Matches(string path, string name) => PathsOf(path).Any(p => ModulePath.Matches(p, name));

        /// <summary>The layer's first path, then its other paths.</summary>
        public IEnumerable<string> PathsOf(string path) => Aliases.TryGetValue(path, out var more) ? [path, .. more] : [path];
    }

    /// <summary>
    /// Writes adapter <paramref name="name"/> to <paramref name="directory"/> as one unit: A/B of every layer that holds
    /// it (a shared layer once, under its first path), the full copies of its <c>modules_to_save</c> and its trained
    /// token rows, and a config whose layer selection (<paramref name="selection"/>'s <c>target_modules</c>,
    /// <c>exclude_modules</c>, <c>layers_to_transform</c>/<c>layers_pattern</c> when they still give exactly these
    /// layers, else names and exclusions that do) reloads into the same layers, here and in PEFT.
    /// </summary>
    public static void Save(string directory, string name, ModelLayers model, LoraModelOptions options, AdapterConfig? selection)
    {
        var tensors = new List<SafetensorsEntry>();
        var adapted = new List<(string Path, LoraAdapter Adapter)>();
        var settings = new List<AdapterLayerSettings>();
        var saved = new List<string>();
        var tokens = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        var bias = options.Bias;
        foreach (var (path, layer, spec) in model.Layers)
        {
            if (spec is not null && spec.Bias > bias) bias = spec.Bias;
            switch (layer.Adapter)
            {
                case LoraLayer slot when slot.Adapters.TryGetValue(name, out var ad):
                    var (a, b, setting) = ad.Initial is { } initial ? AsPlainLora(path, ad, initial.A, initial.B) : (ad.A, ad.B, SettingsOf(path, ad));
                    tensors.Add(a.ToEntry(AdapterKeys.A(path, slot.Kind)));
                    tensors.Add(b.ToEntry(AdapterKeys.B(path, slot.Kind)));
                    if (ad.Magnitude is not null) tensors.Add(ad.Magnitude.ToEntry(AdapterKeys.Magnitude(path)));
                    settings.Add(setting);
                    adapted.Add((path, ad));
                    break;
                case SavedModuleSlot copies when copies.Copies.TryGetValue(name, out var copy):
                    tensors.Add(copy.Weight.ToEntry(AdapterKeys.SavedModule(path, AdapterKeys.WeightParameter)));
                    if (copy.Bias is not null) tensors.Add(copy.Bias.ToEntry(AdapterKeys.SavedModule(path, AdapterKeys.BiasParameter)));
                    saved.Add(path);
                    break;
                case TrainableTokensSlot rows when rows.ByName.TryGetValue(name, out var t):
                    tensors.Add(t.Rows.ToEntry(AdapterKeys.TrainableTokens(path)));
                    tokens[path] = t.Indices;
                    break;
            }
        }
        if (adapted.Count == 0) throw new InvalidOperationException($"Adapter '{name}' has no LoRA layers (PEFT's LoRA config needs target modules).");
        var fromLayers = AdapterConfig.FromLayers(settings, bias, options.BaseModelName) with { FanInFanOut = options.FanInFanOut, TaskType = options.TaskType };
        var config = fromLayers.SelectingExactly(adapted.Select(a => a.Path).ToList(), model.Kinds, selection, model.Aliases);
        if (saved.Count > 0) config = config with { ModulesToSave = saved };
        if (tokens.Count > 0) config = config.WithTrainableTokenIndices(tokens);
        AdapterDirectory.Save(directory, config, tensors);
    }

    private static AdapterLayerSettings SettingsOf(string path, LoraAdapter ad) =>
        new(path, ad.Config.Rank, ad.Config.Alpha, ad.Config.Dropout, ad.Config.UseRsLora, ad.Config.Init, ad.Config.UseDora);

    /// <summary>
    /// A PiSSA/OLoRA adapter as plain LoRA relative to the original W, as PEFT's
    /// <c>path_initial_model_for_weight_conversion</c> saves it (<see cref="ResidualFactors.ToPlainLora"/>: rank 2r,
    /// α by <see cref="ResidualFactors.PlainAlpha"/>).
    /// </summary>
    private static (Tensor A, Tensor B, AdapterLayerSettings Settings) AsPlainLora(string path, LoraAdapter ad, Tensor a0, Tensor b0)
    {
        int r = ad.Config.Rank, inDim = ad.A.Dim(1), outDim = ad.B.Dim(0);
        var (a, b) = ResidualFactors.ToPlainLora(ad.A.Data.ToArray(), ad.B.Data.ToArray(), a0.Data.ToArray(), b0.Data.ToArray(), outDim, inDim, r);
        double alpha = ResidualFactors.PlainAlpha(ad.Config.Alpha, ad.Config.UseRsLora);
        return (Tensor.FromArray(a, 2 * r, inDim), Tensor.FromArray(b, outDim, 2 * r),
            new AdapterLayerSettings(path, 2 * r, alpha, ad.Config.Dropout, ad.Config.UseRsLora, LoraInit.Kaiming, ad.Config.UseDora));
    }

    /// <summary>One layer's adapter as read from a file, checked and ready to attach.</summary>
    internal sealed record LoadedLayer(string Path, IAdaptableLayer Layer, LoraConfig Config, Tensor A, Tensor B, Tensor? Magnitude);

    /// <summary>One <c>modules_to_save</c> copy as read from a file.</summary>
    internal sealed record LoadedCopy(string Path, IAdaptableLayer Layer, Tensor Weight, Tensor? Bias);

    /// <summary>One embedding's <c>trainable_token_indices</c> rows as read from a file.</summary>
    internal sealed record LoadedTokens(string Path, IAdaptableLayer Layer, int[] Indices, Tensor Rows);

    /// <summary>Everything one adapter directory holds for a model, checked.</summary>
    internal sealed record LoadedAdapter(AdapterConfig Config, List<LoadedLayer> Layers, List<LoadedCopy> Copies, List<LoadedTokens> Tokens);

    /// <summary>
    /// Reads a PEFT adapter directory (ours or PEFT's) for <paramref name="model"/>. The adapted layers are those the
    /// config selects (<see cref="AdapterConfig.SelectLayers"/>: <c>target_modules</c> — names, a regular expression or
    /// <c>"all-linear"</c> — less <c>exclude_modules</c> and <c>modules_to_save</c>, narrowed by
    /// <c>layers_to_transform</c>/<c>layers_pattern</c>) or whose keys the file holds; each must have both matrices
    /// with shapes [r, in] and [out, r] for its rank. A layer reachable under several paths is found under whichever
    /// of them the file uses. <c>modules_to_save</c> entries need the full weight (and bias) of the Linear/Embedding
    /// they name, <c>trainable_token_indices</c> the rows of its embedding. Nothing else may be in the file. Every
    /// problem is reported by key in one <see cref="LoraAdapterException"/>; nothing changes. Everything that could make
    /// attaching fail is checked here, before the caller touches the model, and (unless
    /// <paramref name="allowNonFinite"/>) every value is finite.
    /// </summary>
    public static LoadedAdapter Read(string directory, ModelLayers model, string name, bool allowNonFinite, bool fanInFanOutModel = false)
    {
        using var files = Open(directory);
        var cfg = files.Config;
        if (cfg.InitLoraWeights.Method is { } method && (method.StartsWith(ConfigFields.InitPissa, StringComparison.Ordinal) || method == ConfigFields.InitOlora))
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: {ConfigFields.InitLoraWeights} is \"{method}\": this adapter's A and B are relative to the residual weights of that initialisation, not to the base model. " +
                "Save it converted to plain LoRA (PEFT: save_pretrained(path_initial_model_for_weight_conversion=...); LoraGen converts when it saves).");
        if (cfg.FanInFanOut && !fanInFanOutModel)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: transposed ({ConfigFields.FanInFanOut}, Conv1D) layouts are not supported yet.");
        if (cfg.FieldsNotHonoured() is { Count: > 0 } unhonoured)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: LoraGen does not support {string.Join("; ", unhonoured)}.");
        var file = files.Weights;
        var layers = model.Layers;
        var selected = model.Select(cfg);
        var expected = new List<(string Key, long[] Shape)>();
        var wanted = new List<(string Path, string KeyPath, IAdaptableLayer Layer, int Rank)>();
        foreach (var (path, layer, _) in layers)
        {
            var kind = layer.Kind;
            // The file may name a shared layer under any of its paths; the first path it uses wins.
            var keyPath = model.PathsOf(path).FirstOrDefault(p => file.Contains(AdapterKeys.A(p, kind)) || file.Contains(AdapterKeys.B(p, kind)));
            if (keyPath is null && !selected.Contains(path)) continue;
            keyPath ??= path;
            int rank = cfg.RankFor(keyPath);
            long inDim = kind == LayerKind.Linear ? layer.Weight.Dim(1) : layer.Weight.Dim(0);
            long outDim = kind == LayerKind.Linear ? layer.Weight.Dim(0) : layer.Weight.Dim(1);
            expected.Add((AdapterKeys.A(keyPath, kind), [rank, inDim]));
            expected.Add((AdapterKeys.B(keyPath, kind), [outDim, rank]));
            if (cfg.UseDora) expected.Add((AdapterKeys.Magnitude(keyPath), [outDim]));   // DoRA's m: [out] or [dim]
            wanted.Add((path, keyPath, layer, rank));
        }
        var copies = SavedModulesOf(directory, cfg, model);
        foreach (var (path, layer) in copies)
        {
            expected.Add((AdapterKeys.SavedModule(path, AdapterKeys.WeightParameter), Shape(layer.Weight)));
            if (layer.Bias is { } b) expected.Add((AdapterKeys.SavedModule(path, AdapterKeys.BiasParameter), Shape(b)));
        }
        var tokens = TokensOf(directory, cfg, model);
        foreach (var (path, layer, indices) in tokens)
            expected.Add((AdapterKeys.TrainableTokens(path), [indices.Length, layer.Weight.Dim(1)]));
        var match = file.Match(expected);
        if (!match.IsExact)
        {
            string detail = "the adapter does not fit this model";
            if (match.Unexpected.Any(k => !AdapterKeys.TryParse(k, out _, out _, out _)) && copies.Count == 0)
                detail += $" (keys that are not LoRA pairs are full modules PEFT saves through \"{ConfigFields.ModulesToSave}\" or trained rows of \"{ConfigFields.TrainableTokenIndices}\"; the config names none that fits them)";
            throw new LoraAdapterException(directory, detail, match.Missing, match.Unexpected, match.Mismatched);
        }
        if (wanted.Count == 0) throw new LoraAdapterException(directory, "the adapter holds no LoRA tensors.");
        if (cfg.TargetModules is not null && selected.Count == 0)
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile}: \"{ConfigFields.TargetModules}\" matches no layer of this model" +
                (cfg.LayersToTransform is null ? "." : $" (with \"{ConfigFields.LayersToTransform}\" {cfg.LayersToTransform} and \"{ConfigFields.LayersPattern}\" {cfg.LayersPattern?.ToString() ?? "null"}; PEFT reads the layer index after \".PATTERN.\")."));
        var init = cfg.InitLoraWeights == InitLoraWeights.Gaussian ? LoraInit.Gaussian : LoraInit.Kaiming;
        var loaded = new LoadedAdapter(cfg, new List<LoadedLayer>(wanted.Count), [], []);
        var problems = new List<string>();
        void CheckFinite(string key, Tensor t)
        {
            if (!allowNonFinite && IndexOfNonFinite(t.Data) is var i and >= 0)
                problems.Add($"{key} holds a non-finite value ({t.Data[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {i}); load with allowNonFinite: true to accept it");
        }
        Tensor Load(string key)
        {
            var t = file.LoadTensor(key);
            CheckFinite(key, t);
            return t;
        }
        foreach (var w in wanted)
        {
            var config = new LoraConfig(w.Rank, cfg.AlphaFor(w.KeyPath), cfg.LoraDropout, init, cfg.UseRsLora, cfg.UseDora);
            if (LoraLayer.ProblemAdding(w.Layer, w.Path, name, config) is { } problem) { problems.Add(problem); continue; }
            var a = Load(AdapterKeys.A(w.KeyPath, w.Layer.Kind));
            var b = Load(AdapterKeys.B(w.KeyPath, w.Layer.Kind));
            var m = cfg.UseDora ? Load(AdapterKeys.Magnitude(w.KeyPath)) : null;
            loaded.Layers.Add(new LoadedLayer(w.Path, w.Layer, config, a, b, m));
        }
        foreach (var (path, layer) in copies)
        {
            if (layer.Adapter is not (null or SavedModuleSlot))
                problems.Add($"{path}: \"{ConfigFields.ModulesToSave}\" names this layer, which holds a {layer.Adapter.GetType().Name} of another adapter");
            else if (layer.Adapter is SavedModuleSlot s && s.Copies.ContainsKey(name)) problems.Add($"{path}: adapter '{name}' already has a saved copy");
            var wt = Load(AdapterKeys.SavedModule(path, AdapterKeys.WeightParameter));
            var bt = layer.Bias is null ? null : Load(AdapterKeys.SavedModule(path, AdapterKeys.BiasParameter));
            loaded.Copies.Add(new LoadedCopy(path, layer, wt, bt));
        }
        foreach (var (path, layer, indices) in tokens)
        {
            if (layer.Adapter is not (null or TrainableTokensSlot))
                problems.Add($"{path}: \"{ConfigFields.TrainableTokenIndices}\" names this embedding, which holds a {layer.Adapter.GetType().Name} (LoRA and trainable tokens on one embedding are not supported)");
            foreach (var i in indices)
                if (i >= layer.Weight.Dim(0)) problems.Add($"{path}: \"{ConfigFields.TrainableTokenIndices}\" lists token {i}, outside the table of {layer.Weight.Dim(0)} rows");
            loaded.Tokens.Add(new LoadedTokens(path, layer, indices, Load(AdapterKeys.TrainableTokens(path))));
        }
        if (problems.Count > 0) throw new LoraAdapterException(directory, string.Join("; ", problems));
        return loaded;
    }

    private static long[] Shape(Tensor t) => t.Shape.ToArray().Select(d => (long)d).ToArray();

    /// <summary>
    /// The layers <c>modules_to_save</c> names (PEFT's rule: the module path ends with the name). Only a Linear or an
    /// Embedding can be saved; a name that reaches none is refused, naming the option.
    /// </summary>
    internal static List<(string Path, IAdaptableLayer Layer)> SavedModulesOf(string where, AdapterConfig cfg, ModelLayers model)
    {
        var result = new List<(string, IAdaptableLayer)>();
        foreach (var m in cfg.ModulesToSave ?? [])
        {
            var hits = model.Layers.Where(l => model.PathsOf(l.Path).Any(p => p.EndsWith(m, StringComparison.Ordinal))).ToList();
            if (hits.Count == 0)
                throw new LoraAdapterException(where, $"{AdapterKeys.ConfigFile}: \"{ConfigFields.ModulesToSave}\" names \"{m}\", which is no Linear/Embedding layer of this model (LoraGen saves full copies of Linear and Embedding layers only; its layers: {string.Join(", ", model.Layers.Select(l => l.Path))}).");
            foreach (var h in hits)
                if (!result.Any(r => ReferenceEquals(r.Item2, h.Layer))) result.Add((h.Path, h.Layer));
        }
        return result;
    }

    /// <summary>
    /// The embeddings <c>trainable_token_indices</c> names, with their token ids: a dict names them (the path ends with
    /// the name, as PEFT matches); the list form means the model's input embedding — its first Embedding layer.
    /// </summary>
    internal static List<(string Path, IAdaptableLayer Layer, int[] Indices)> TokensOf(string where, AdapterConfig cfg, ModelLayers model)
    {
        IReadOnlyDictionary<string, IReadOnlyList<int>> spec;
        try { spec = cfg.TrainableTokenIndices(); }
        catch (AdapterConfigException e) { throw new LoraAdapterException(where, $"{AdapterKeys.ConfigFile}: {e.Message}", inner: e); }
        var result = new List<(string, IAdaptableLayer, int[])>();
        foreach (var (module, indices) in spec)
        {
            var hits = model.Layers.Where(l => l.Layer.Kind == LayerKind.Embedding &&
                (module == AdapterConfig.InputEmbeddingKey || model.PathsOf(l.Path).Any(p => p.EndsWith(module, StringComparison.Ordinal)))).ToList();
            if (module == AdapterConfig.InputEmbeddingKey && hits.Count > 1) hits = hits.Take(1).ToList();
            if (hits.Count == 0)
                throw new LoraAdapterException(where, $"{AdapterKeys.ConfigFile}: \"{ConfigFields.TrainableTokenIndices}\" names {(module.Length == 0 ? "the input embedding" : $"\"{module}\"")}, which is no Embedding layer of this model.");
            foreach (var h in hits) result.Add((h.Path, h.Layer, indices.ToArray()));
        }
        return result;
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
