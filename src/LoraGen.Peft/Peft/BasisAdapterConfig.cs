using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraGen.Contract;
using static LoraGen.Peft.PythonJson;

namespace LoraGen.Peft;

/// <summary>
/// The <c>adapter_config.json</c> of a random-basis adapter: PEFT's VeRA (<c>peft_type: "VERA"</c>, PEFT's
/// <c>VeraConfig</c> fields) or LoraGen's NoLA (<c>peft_type: "NOLA"</c>, docs/nola-format.md). Layer selection uses
/// PEFT's fields and rules (<see cref="Selection"/> feeds <see cref="AdapterConfig.SelectLayers"/>). Fields LoraGen
/// does not interpret are kept and written back as they came. Unsupported settings (a bias other than "none",
/// <c>modules_to_save</c>, <c>init_weights: false</c>) are refused by name.
/// </summary>
public sealed record BasisAdapterConfig
{
    /// <summary>VeRA or NoLA.</summary>
    public LoraVariant Variant { get; init; } = LoraVariant.Vera;

    /// <summary><c>r</c>: the rank, one for every layer (VeRA's default 256, NoLA's 8).</summary>
    public int R { get; init; } = 256;

    /// <summary><c>target_modules</c>: names, or one regular expression / "all-linear" (PEFT's rule).</summary>
    public OneOrMany<string>? TargetModules { get; init; }

    /// <summary><c>exclude_modules</c>.</summary>
    public OneOrMany<string>? ExcludeModules { get; init; }

    /// <summary><c>layers_to_transform</c>.</summary>
    public OneOrMany<int>? LayersToTransform { get; init; }

    /// <summary><c>layers_pattern</c>.</summary>
    public OneOrMany<string>? LayersPattern { get; init; }

    /// <summary>VeRA <c>projection_prng_key</c> (the seed of torch's generator for the shared projections), NoLA <c>nola_seed</c>.</summary>
    public long Seed { get; init; }

    /// <summary>VeRA <c>save_projection</c>: the file carries <c>base_model.vera_A</c>/<c>vera_B</c> (PEFT's default true).</summary>
    public bool SaveProjection { get; init; } = true;

    /// <summary><c>vera_dropout</c> / <c>nola_dropout</c>, in [0, 1).</summary>
    public double Dropout { get; init; }

    /// <summary>VeRA <c>d_initial</c>: λ_d's initial value (0.1).</summary>
    public double DInitial { get; init; } = 0.1;

    /// <summary>NoLA <c>lora_alpha</c>: ΔW is scaled by α/r as in LoRA.</summary>
    public double LoraAlpha { get; init; } = PeftDefaults.LoraAlpha;

    /// <summary>NoLA <c>num_basis_a</c>: k_A, the number of A bases (≥ 1).</summary>
    public int NumBasisA { get; init; } = 64;

    /// <summary>NoLA <c>num_basis_b</c>: k_B, the number of B bases (≥ 1).</summary>
    public int NumBasisB { get; init; } = 64;

    /// <summary>NoLA <c>basis_generator</c>: the algorithm that made the bases (only <see cref="ConfigFields.NolaGeneratorV1"/>).</summary>
    public string BasisGenerator { get; init; } = ConfigFields.NolaGeneratorV1;

    /// <summary><c>fan_in_fan_out</c> (GPT-2's Conv1D).</summary>
    public bool FanInFanOut { get; init; }

    /// <summary><c>base_model_name_or_path</c>.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>inference_mode</c>.</summary>
    public bool InferenceMode { get; init; }

    /// <summary>Fields LoraGen does not interpret (<c>task_type</c>, <c>peft_version</c>, …), written back unchanged.</summary>
    public IReadOnlyDictionary<string, JsonElement> OtherFields { get; init; } = ReadOnlyDictionary<string, JsonElement>.Empty;

    /// <summary>The <c>peft_type</c> string.</summary>
    public string PeftType => Variant == LoraVariant.Nola ? ConfigFields.NolaPeftType : ConfigFields.VeraPeftType;

    /// <summary>The layer selection as a LoRA config (target_modules, exclude_modules, layers_to_transform, layers_pattern) for <see cref="AdapterConfig.SelectLayers"/>.</summary>
    public AdapterConfig Selection() => new()
    {
        TargetModules = TargetModules,
        ExcludeModules = ExcludeModules,
        LayersToTransform = LayersToTransform,
        LayersPattern = LayersPattern,
    };

    /// <summary>Whether <paramref name="peftType"/> is one this type reads.</summary>
    public static bool IsBasisType(string? peftType) => peftType is ConfigFields.VeraPeftType or ConfigFields.NolaPeftType;

    /// <summary>
    /// The <c>peft_type</c> of the config file in <paramref name="directory"/> (null when there is no config, it is not a
    /// JSON object or has no string <c>peft_type</c>): how a loader picks LoRA or a random-basis adapter.
    /// </summary>
    public static string? PeftTypeIn(string directory)
    {
        var path = Path.Combine(directory, AdapterKeys.ConfigFile);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(AdapterConfig.ReadFile(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(ConfigFields.PeftType, out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString() : null;
        }
        catch (Exception e) when (e is JsonException or AdapterConfigException or IOException) { return null; }
    }

    /// <summary>
    /// NoLA's generator settings as the weights' <c>__metadata__</c> (docs/nola-format.md): generator, seed, k_A, k_B, r
    /// as decimal strings; null for VeRA. Both backends write exactly these.
    /// </summary>
    public IReadOnlyDictionary<string, string>? WeightsMetadata() => Variant != LoraVariant.Nola ? null : new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [PeftKeys.NolaMetaGenerator] = BasisGenerator,
        [PeftKeys.NolaMetaSeed] = Seed.ToString(CultureInfo.InvariantCulture),
        [PeftKeys.NolaMetaNumBasisA] = NumBasisA.ToString(CultureInfo.InvariantCulture),
        [PeftKeys.NolaMetaNumBasisB] = NumBasisB.ToString(CultureInfo.InvariantCulture),
        [PeftKeys.NolaMetaRank] = R.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Where a NoLA file's <c>__metadata__</c> (<paramref name="metadata"/>) disagrees with this config: a message naming
    /// the key and both values, or null when every present key agrees (the bases would otherwise differ from the ones
    /// the coefficients were trained with). Always null for VeRA.
    /// </summary>
    public string? MetadataConflict(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var (key, value) in WeightsMetadata() ?? new Dictionary<string, string>())
            if (metadata.TryGetValue(key, out var got) && got != value)
                return $"{AdapterKeys.WeightsFile} __metadata__ \"{key}\" is \"{got}\" but {AdapterKeys.ConfigFile} says \"{value}\": the bases would differ from the ones the coefficients were trained with.";
        return null;
    }

    // ------------------------------------------------------------------ writing

    /// <summary>The config as PEFT writes it: <c>json.dumps(config, indent=2, sort_keys=True)</c>. Checks the rules first.</summary>
    public string ToJson()
    {
        Validate(null);
        var m = new List<KeyValuePair<string, object?>>();
        void Add(string name, object? value) => m.Add(KeyValuePair.Create(name, value));
        Add(ConfigFields.PeftType, PeftType);
        Add(ConfigFields.R, R);
        Add(ConfigFields.TargetModules, Value(TargetModules));
        Add(ConfigFields.ExcludeModules, Value(ExcludeModules));
        Add(ConfigFields.LayersToTransform, Value(LayersToTransform));
        Add(ConfigFields.LayersPattern, Value(LayersPattern));
        Add(ConfigFields.FanInFanOut, FanInFanOut);
        Add(ConfigFields.Bias, ConfigFields.BiasNone);
        Add(ConfigFields.ModulesToSave, null);
        Add(ConfigFields.InitWeights, true);
        Add(ConfigFields.BaseModelNameOrPath, BaseModelNameOrPath);
        Add(ConfigFields.InferenceMode, InferenceMode);
        if (Variant == LoraVariant.Vera)
        {
            Add(ConfigFields.ProjectionPrngKey, new Number(Seed.ToString(CultureInfo.InvariantCulture)));
            Add(ConfigFields.SaveProjection, SaveProjection);
            Add(ConfigFields.VeraDropout, new Number(PythonJson.Float(Dropout)));
            Add(ConfigFields.DInitial, new Number(PythonJson.Float(DInitial)));
        }
        else
        {
            Add(ConfigFields.NolaSeed, new Number(Seed.ToString(CultureInfo.InvariantCulture)));
            Add(ConfigFields.NolaDropout, new Number(PythonJson.Float(Dropout)));
            Add(ConfigFields.LoraAlpha, new Number(PythonJson.IntOrFloat(LoraAlpha)));
            Add(ConfigFields.NumBasisA, NumBasisA);
            Add(ConfigFields.NumBasisB, NumBasisB);
            Add(ConfigFields.BasisGenerator, BasisGenerator);
        }
        var written = m.Select(x => x.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, raw) in OtherFields)
            if (!written.Contains(name)) Add(name, raw);
        return PythonJson.Render(new PythonJson.Object(m));
    }

    /// <summary><see cref="ToJson"/> as UTF-8 bytes.</summary>
    public byte[] ToUtf8Bytes() => Encoding.UTF8.GetBytes(ToJson());

    private static object? Value<T>(OneOrMany<T>? v) => v is null ? null : v.IsSingle ? v.Single : v.Items;

    // ------------------------------------------------------------------ reading

    /// <summary>Reads and checks an <c>adapter_config.json</c> of a VeRA or NoLA adapter.</summary>
    public static BasisAdapterConfig Load(string path) => Parse(AdapterConfig.ReadFile(path), path);

    /// <summary>Parses and checks a VeRA or NoLA config; <paramref name="source"/> (a file name) appears in errors.</summary>
    public static BasisAdapterConfig Parse(ReadOnlySpan<byte> utf8Json, string? source = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(utf8Json.ToArray()); }
        catch (JsonException e) { throw new AdapterConfigException(source, null, $"is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new AdapterConfigException(source, null, "must hold a JSON object.");
            var props = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject()) props[p.Name] = p.Value.Clone();
            return FromProperties(props, source);
        }
    }

    private static BasisAdapterConfig FromProperties(Dictionary<string, JsonElement> props, string? source)
    {
        AdapterConfigException Bad(string field, string detail) => new(source, field, detail);
        bool Has(string name, out JsonElement e) => props.TryGetValue(name, out e) && e.ValueKind != JsonValueKind.Null;
        int Int(string f, int dflt) => !Has(f, out var e) ? dflt : e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Bad(f, $"must be an integer, not {e.GetRawText()}.");
        long Long(string f) => !Has(f, out var e) ? 0 : e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw Bad(f, $"must be an integer, not {e.GetRawText()}.");
        double Num(string f, double dflt) => !Has(f, out var e) ? dflt : e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v) && double.IsFinite(v) ? v : throw Bad(f, $"must be a number, not {e.GetRawText()}.");
        bool Bool(string f, bool dflt) => !Has(f, out var e) ? dflt : e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(f, $"must be true or false, not {e.GetRawText()}."),
        };
        string? Str(string f) => !Has(f, out var e) ? null : e.ValueKind == JsonValueKind.String ? e.GetString() : throw Bad(f, $"must be a string, not {e.GetRawText()}.");
        OneOrMany<string>? Names(string f)
        {
            if (!Has(f, out var e)) return null;
            if (e.ValueKind == JsonValueKind.String) return OneOrMany<string>.One(e.GetString()!);
            if (e.ValueKind != JsonValueKind.Array || e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw Bad(f, $"must be a string or a list of strings, not {e.GetRawText()}.");
            return OneOrMany<string>.Many(e.EnumerateArray().Select(x => x.GetString()!).ToList());
        }
        OneOrMany<int>? Ints(string f)
        {
            if (!Has(f, out var e)) return null;
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var one)) return OneOrMany<int>.One(one);
            if (e.ValueKind != JsonValueKind.Array || e.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out _)))
                throw Bad(f, $"must be an integer or a list of integers, not {e.GetRawText()}.");
            return OneOrMany<int>.Many(e.EnumerateArray().Select(x => x.GetInt32()).ToList());
        }

        var type = Str(ConfigFields.PeftType);
        if (!IsBasisType(type))
            throw Bad(ConfigFields.PeftType, $"is {(type is null ? "missing" : $"\"{type}\"")}: expected \"{ConfigFields.VeraPeftType}\" or \"{ConfigFields.NolaPeftType}\".");
        var variant = type == ConfigFields.NolaPeftType ? LoraVariant.Nola : LoraVariant.Vera;
        if (Str(ConfigFields.Bias) is { } bias && bias != ConfigFields.BiasNone)
            throw Bad(ConfigFields.Bias, $"is \"{bias}\": LoraGen supports only \"{ConfigFields.BiasNone}\" for {type} adapters.");
        if (Has(ConfigFields.ModulesToSave, out var mts) && !(mts.ValueKind == JsonValueKind.Array && mts.GetArrayLength() == 0))
            throw Bad(ConfigFields.ModulesToSave, $"is {mts.GetRawText()}: LoraGen does not support {ConfigFields.ModulesToSave} with {type} adapters.");
        if (!Bool(ConfigFields.InitWeights, true))
            throw Bad(ConfigFields.InitWeights, "is false: the file's vectors define the adapter; LoraGen reads only files saved with the default initialisation flag (true).");
        var known = new HashSet<string>(StringComparer.Ordinal)
        {
            ConfigFields.PeftType, ConfigFields.R, ConfigFields.TargetModules, ConfigFields.ExcludeModules, ConfigFields.LayersToTransform,
            ConfigFields.LayersPattern, ConfigFields.FanInFanOut, ConfigFields.Bias, ConfigFields.ModulesToSave, ConfigFields.InitWeights,
            ConfigFields.BaseModelNameOrPath, ConfigFields.InferenceMode,
        };
        known.UnionWith(variant == LoraVariant.Vera
            ? [ConfigFields.ProjectionPrngKey, ConfigFields.SaveProjection, ConfigFields.VeraDropout, ConfigFields.DInitial]
            : [ConfigFields.NolaSeed, ConfigFields.NolaDropout, ConfigFields.LoraAlpha, ConfigFields.NumBasisA, ConfigFields.NumBasisB, ConfigFields.BasisGenerator]);
        var config = new BasisAdapterConfig
        {
            Variant = variant,
            R = Int(ConfigFields.R, variant == LoraVariant.Vera ? 256 : PeftDefaults.R),
            TargetModules = Names(ConfigFields.TargetModules),
            ExcludeModules = Names(ConfigFields.ExcludeModules),
            LayersToTransform = Ints(ConfigFields.LayersToTransform),
            LayersPattern = Names(ConfigFields.LayersPattern),
            FanInFanOut = Bool(ConfigFields.FanInFanOut, false),
            BaseModelNameOrPath = Str(ConfigFields.BaseModelNameOrPath),
            InferenceMode = Bool(ConfigFields.InferenceMode, false),
            Seed = Long(variant == LoraVariant.Vera ? ConfigFields.ProjectionPrngKey : ConfigFields.NolaSeed),
            SaveProjection = Bool(ConfigFields.SaveProjection, true),
            Dropout = Num(variant == LoraVariant.Vera ? ConfigFields.VeraDropout : ConfigFields.NolaDropout, 0),
            DInitial = Num(ConfigFields.DInitial, 0.1),
            LoraAlpha = Num(ConfigFields.LoraAlpha, PeftDefaults.LoraAlpha),
            NumBasisA = Int(ConfigFields.NumBasisA, 64),
            NumBasisB = Int(ConfigFields.NumBasisB, 64),
            BasisGenerator = Str(ConfigFields.BasisGenerator) ?? ConfigFields.NolaGeneratorV1,
            OtherFields = new ReadOnlyDictionary<string, JsonElement>(props.Where(p => !known.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)),
        };
        config.Validate(source);
        return config;
    }

    /// <summary>Checks every field; throws <see cref="AdapterConfigException"/> naming it.</summary>
    private void Validate(string? source)
    {
        AdapterConfigException Bad(string field, string detail) => new(source, field, detail);
        if (ConfigRules.Rank(R) is { } rp) throw Bad(ConfigFields.R, $"is {R}: {rp}.");
        string dropoutField = Variant == LoraVariant.Vera ? ConfigFields.VeraDropout : ConfigFields.NolaDropout;
        if (ConfigRules.Dropout(Dropout) is { } dp) throw Bad(dropoutField, $"is {PythonJson.Float(Dropout)}: {dp}.");
        if (Seed < 0) throw Bad(Variant == LoraVariant.Vera ? ConfigFields.ProjectionPrngKey : ConfigFields.NolaSeed, $"is {Seed}: a seed is a non-negative integer.");
        if (Variant == LoraVariant.Vera && !double.IsFinite(DInitial)) throw Bad(ConfigFields.DInitial, "must be finite.");
        if (Variant == LoraVariant.Nola)
        {
            if (ConfigRules.Alpha(LoraAlpha) is { } ap) throw Bad(ConfigFields.LoraAlpha, $"is {PythonJson.Float(LoraAlpha)}: {ap}.");
            if (NumBasisA < 1) throw Bad(ConfigFields.NumBasisA, $"is {NumBasisA}: NoLA needs at least one basis (k ≥ 1).");
            if (NumBasisB < 1) throw Bad(ConfigFields.NumBasisB, $"is {NumBasisB}: NoLA needs at least one basis (k ≥ 1).");
            if (BasisGenerator != ConfigFields.NolaGeneratorV1)
                throw Bad(ConfigFields.BasisGenerator, $"is \"{BasisGenerator}\": LoraGen knows only \"{ConfigFields.NolaGeneratorV1}\".");
        }
        try { _ = Selection().ToJson(); }   // PEFT's selection rules: valid regular expressions, layers_pattern needs layers_to_transform, …
        catch (AdapterConfigException e) { throw new AdapterConfigException(source, e.Field, e.Message); }
    }
}
