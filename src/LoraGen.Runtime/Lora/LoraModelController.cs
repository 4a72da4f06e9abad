using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoraGen.Contract;
using LoraGen.IO;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// The <c>Lora</c> facade of a <c>[LoraModel]</c> root, mirroring PEFT: <see cref="Attach"/> (get_peft_model),
/// <see cref="Summary"/> (print_trainable_parameters), <see cref="Merge"/>, <see cref="Unmerge"/>,
/// <see cref="MergeAndUnload"/>, <see cref="Save"/>/<see cref="Load"/> (PEFT's directory layout), named adapters
/// (<see cref="SetActive"/>, <see cref="Delete"/>) and <see cref="Disable"/>. The generator creates it with the
/// model's compile-time settings; the layers it adapts come from the generated module tree, not reflection.
/// </summary>
public sealed class LoraModelController
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

    // ------------------------------------------------------------------ PEFT directory layout

    /// <summary>
    /// Writes adapter <paramref name="name"/> (default: the active one) to <paramref name="directory"/> in PEFT's
    /// layout: adapter_model.safetensors and adapter_config.json, each written atomically.
    /// </summary>
    public void Save(string directory, string? name = null)
    {
        name ??= _active ?? throw new InvalidOperationException("No adapter to save: call Attach or Load first.");
        if (!_names.Contains(name)) throw new KeyNotFoundException($"No adapter named '{name}'.");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var layers = new List<(string Path, LoraAdapter Adapter)>();
        var bias = Options.Bias;
        foreach (var (path, layer, spec) in AllLayers())
        {
            if (spec is not null && spec.Bias > bias) bias = spec.Bias;
            if (layer.Lora is not { } slot || !slot.Adapters.TryGetValue(name, out var ad)) continue;
            tensors.Add(KeyValuePair.Create(AdapterKeys.A(path, slot.Kind), ad.A));
            tensors.Add(KeyValuePair.Create(AdapterKeys.B(path, slot.Kind), ad.B));
            layers.Add((path, ad));
        }
        if (layers.Count == 0) throw new InvalidOperationException($"Adapter '{name}' has no layers.");
        Directory.CreateDirectory(directory);
        SafetensorsWriter.Save(Path.Combine(directory, AdapterKeys.WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllText(Path.Combine(directory, AdapterKeys.ConfigFile), ConfigJson(layers, bias));
    }

    private string ConfigJson(List<(string Path, LoraAdapter Adapter)> layers, LoraBias bias)
    {
        var first = layers[0].Adapter.Config;
        // PEFT has one use_rslora flag: take the majority, and express the other layers' scaling through an
        // equivalent alpha (α/√r = (α·√r)/r), so every layer keeps its exact scaling.
        bool rsLora = layers.Count(l => l.Adapter.Config.UseRsLora) * 2 > layers.Count;
        double EffectiveAlpha(LoraConfig c) => c.UseRsLora == rsLora ? c.Alpha
            : c.UseRsLora ? c.Alpha * Math.Sqrt(c.Rank) : c.Alpha / Math.Sqrt(c.Rank);
        int r = layers.GroupBy(l => l.Adapter.Config.Rank).OrderByDescending(g => g.Count()).First().Key;
        double alpha = layers.GroupBy(l => EffectiveAlpha(l.Adapter.Config)).OrderByDescending(g => g.Count()).First().Key;
        var rankPattern = layers.Where(l => l.Adapter.Config.Rank != r).ToDictionary(l => l.Path, l => l.Adapter.Config.Rank);
        var alphaPattern = layers.Where(l => EffectiveAlpha(l.Adapter.Config) != alpha).ToDictionary(l => l.Path, l => EffectiveAlpha(l.Adapter.Config));
        var targetModules = layers.Select(l => l.Path[(l.Path.LastIndexOf('.') + 1)..]).Distinct().Order(StringComparer.Ordinal).ToList();

        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            // Keys sorted, as PEFT writes them (json.dumps(..., sort_keys=True)).
            w.WriteStartObject();
            w.WriteStartObject("alpha_pattern");
            foreach (var (k, v) in alphaPattern.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteNumber(k, v);
            w.WriteEndObject();
            if (Options.BaseModelName is null) w.WriteNull("base_model_name_or_path"); else w.WriteString("base_model_name_or_path", Options.BaseModelName);
            w.WriteString("bias", EnumNames.PeftBias[(int)bias]);
            w.WriteBoolean("fan_in_fan_out", false);
            w.WriteBoolean("inference_mode", true);
            if (first.Init == LoraInit.Gaussian) w.WriteString("init_lora_weights", "gaussian"); else w.WriteBoolean("init_lora_weights", true);
            w.WriteNull("layers_pattern");
            w.WriteNull("layers_to_transform");
            w.WriteNumber("lora_alpha", alpha);
            w.WriteNumber("lora_dropout", first.Dropout);
            w.WriteNull("modules_to_save");
            w.WriteString("peft_type", "LORA");
            w.WriteNumber("r", r);
            w.WriteStartObject("rank_pattern");
            foreach (var (k, v) in rankPattern.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteNull("revision");
            w.WriteStartArray("target_modules");
            foreach (var t in targetModules) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteNull("task_type");
            w.WriteBoolean("use_dora", false);
            w.WriteBoolean("use_rslora", rsLora);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
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
        var cfg = ReadConfig(directory);
        var weightsPath = Path.Combine(directory, AdapterKeys.WeightsFile);
        if (!File.Exists(weightsPath)) throw new LoraAdapterException(directory, $"{AdapterKeys.WeightsFile} not found.");
        using var file = SafetensorsFile.Open(weightsPath);

        var consumed = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var mismatched = new List<string>();
        var plan = new List<(string Path, IAdaptableLayer Layer, LoraConfig Config, Tensor A, Tensor B)>();
        foreach (var (path, layer, _) in AllLayers())
        {
            var kind = layer.Kind;
            string ka = AdapterKeys.A(path, kind), kb = AdapterKeys.B(path, kind);
            bool hasA = file.Contains(ka), hasB = file.Contains(kb);
            if (!hasA && !hasB)
            {
                if (cfg.TargetModules.Any(t => ModulePath.Matches(path, t))) { missing.Add(ka); missing.Add(kb); }
                continue;
            }
            if (!hasA) missing.Add(ka);
            if (!hasB) missing.Add(kb);
            if (!hasA || !hasB) continue;
            consumed.Add(ka);
            consumed.Add(kb);
            int rank = cfg.RankFor(path);
            int inDim = kind == LayerKind.Linear ? layer.Weight.Dim(1) : layer.Weight.Dim(0);
            int outDim = kind == LayerKind.Linear ? layer.Weight.Dim(0) : layer.Weight.Dim(1);
            var ia = file.Info(ka);
            var ib = file.Info(kb);
            if (!ia.Shape.SequenceEqual([rank, inDim])) mismatched.Add($"{ka}: file [{string.Join(", ", ia.Shape)}], expected [{rank}, {inDim}]");
            if (!ib.Shape.SequenceEqual([outDim, rank])) mismatched.Add($"{kb}: file [{string.Join(", ", ib.Shape)}], expected [{outDim}, {rank}]");
            if (mismatched.Count > 0) continue;
            var config = new LoraConfig(rank, cfg.AlphaFor(path), cfg.Dropout, cfg.Init, cfg.UseRsLora);
            plan.Add((path, layer, config, file.LoadTensor(ka), file.LoadTensor(kb)));
        }
        var unexpected = file.Tensors.Select(t => t.Name).Where(n => !consumed.Contains(n)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0 || mismatched.Count > 0)
            throw new LoraAdapterException(directory, "the adapter does not fit this model", missing, unexpected, mismatched);
        if (plan.Count == 0) throw new LoraAdapterException(directory, "the adapter holds no LoRA tensors.");

        _model.Freeze();
        foreach (var (path, layer, config, a, b) in plan) layer.EnableLora(path).Add(name, config, a, b);
        Register(name);
    }

    private sealed record AdapterConfig(int R, double Alpha, double Dropout, LoraInit Init, bool UseRsLora,
        IReadOnlyList<string> TargetModules, Dictionary<string, int> RankPattern, Dictionary<string, double> AlphaPattern)
    {
        public int RankFor(string path) => RankPattern.FirstOrDefault(p => ModulePath.Matches(path, p.Key)) is { Key: not null } m ? m.Value : R;
        public double AlphaFor(string path) => AlphaPattern.FirstOrDefault(p => ModulePath.Matches(path, p.Key)) is { Key: not null } m ? m.Value : Alpha;
    }

    private static AdapterConfig ReadConfig(string directory)
    {
        var path = Path.Combine(directory, AdapterKeys.ConfigFile);
        if (!File.Exists(path)) throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile} not found.");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            string Field(string key) => $"{AdapterKeys.ConfigFile} field '{key}'";
            var peftType = root.TryGetProperty("peft_type", out var pt) && pt.ValueKind == JsonValueKind.String ? pt.GetString() : null;
            if (peftType != "LORA") throw new LoraAdapterException(directory, $"{Field("peft_type")} is '{peftType ?? "(absent)"}'; only LORA adapters load here.");
            if (root.TryGetProperty("use_dora", out var dora) && dora.ValueKind == JsonValueKind.True)
                throw new LoraAdapterException(directory, $"{Field("use_dora")} is true; DoRA adapters are not supported.");
            if (root.TryGetProperty("fan_in_fan_out", out var fifo) && fifo.ValueKind == JsonValueKind.True)
                throw new LoraAdapterException(directory, $"{Field("fan_in_fan_out")} is true; transposed (Conv1D) layouts are not supported.");
            if (!root.TryGetProperty("r", out var rEl) || !rEl.TryGetInt32(out int r) || r < 1)
                throw new LoraAdapterException(directory, $"{Field("r")} must be a positive integer.");
            double alpha = root.TryGetProperty("lora_alpha", out var aEl) && aEl.ValueKind == JsonValueKind.Number ? aEl.GetDouble() : r;
            double dropout = root.TryGetProperty("lora_dropout", out var dEl) && dEl.ValueKind == JsonValueKind.Number ? dEl.GetDouble() : 0;
            bool rs = root.TryGetProperty("use_rslora", out var rsEl) && rsEl.ValueKind == JsonValueKind.True;
            var init = root.TryGetProperty("init_lora_weights", out var iEl) && iEl.ValueKind == JsonValueKind.String && iEl.GetString() == "gaussian" ? LoraInit.Gaussian : LoraInit.Kaiming;
            var targets = new List<string>();
            if (root.TryGetProperty("target_modules", out var tm))
            {
                if (tm.ValueKind == JsonValueKind.Array) targets.AddRange(tm.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
                else if (tm.ValueKind == JsonValueKind.String) targets.Add(tm.GetString()!);
            }
            var rp = new Dictionary<string, int>();
            if (root.TryGetProperty("rank_pattern", out var rpEl) && rpEl.ValueKind == JsonValueKind.Object)
                foreach (var p in rpEl.EnumerateObject()) rp[p.Name] = p.Value.GetInt32();
            var ap = new Dictionary<string, double>();
            if (root.TryGetProperty("alpha_pattern", out var apEl) && apEl.ValueKind == JsonValueKind.Object)
                foreach (var p in apEl.EnumerateObject()) ap[p.Name] = p.Value.GetDouble();
            return new AdapterConfig(r, alpha, dropout, init, rs, targets, rp, ap);
        }
        catch (JsonException e)
        {
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile} is not valid JSON: {e.Message}");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new LoraAdapterException(directory, $"{AdapterKeys.ConfigFile} has a value of the wrong type: {e.Message}");
        }
    }
}
