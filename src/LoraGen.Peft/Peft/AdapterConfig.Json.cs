using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;
using LoraGen.Contract;
using static LoraGen.Peft.PythonJson;

namespace LoraGen.Peft;

// Reading and writing adapter_config.json, and the one rule set both go through.
public sealed partial record AdapterConfig
{
    /// <summary>One field with a property: its JSON name and its value in <see cref="PythonJson"/>'s terms.</summary>
    private sealed record Field(string Name, Func<AdapterConfig, object?> Value, bool AlwaysWritten = false);

    private static readonly Field[] s_fields =
    [
        new(ConfigFields.AlphaPattern, c => new PythonJson.Object(c.AlphaPattern.Select(p => KeyValuePair.Create(p.Key, (object?)new Number(IntOrFloat(p.Value)))))),
        new(ConfigFields.BaseModelNameOrPath, c => c.BaseModelNameOrPath),
        new(ConfigFields.Bias, c => BiasName(c.Bias)),
        new(ConfigFields.ExcludeModules, c => Value(c.ExcludeModules)),
        new(ConfigFields.FanInFanOut, c => c.FanInFanOut),
        new(ConfigFields.InferenceMode, c => c.InferenceMode),
        new(ConfigFields.InitLoraWeights, c => c.InitLoraWeights.Method ?? (object?)c.InitLoraWeights.Flag),
        new(ConfigFields.LayersPattern, c => Value(c.LayersPattern)),
        new(ConfigFields.LayersToTransform, c => Value(c.LayersToTransform)),
        new(ConfigFields.LoraAlpha, c => new Number(IntOrFloat(c.LoraAlpha))),
        new(ConfigFields.LoraDropout, c => new Number(PythonJson.Float(c.LoraDropout))),
        new(ConfigFields.ModulesToSave, c => c.ModulesToSave),
        new(ConfigFields.PeftType, c => c.PeftType, AlwaysWritten: true),
        new(ConfigFields.R, c => c.R),
        new(ConfigFields.RankPattern, c => new PythonJson.Object(c.RankPattern.Select(p => KeyValuePair.Create(p.Key, (object?)p.Value)))),
        new(ConfigFields.Revision, c => c.Revision),
        new(ConfigFields.TargetModules, c => Value(c.TargetModules)),
        new(ConfigFields.TaskType, c => c.TaskType),
        new(ConfigFields.UseDora, c => c.UseDora),
        new(ConfigFields.UseRsLora, c => c.UseRsLora),
    ];

    private static readonly HashSet<string> s_known = s_fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>How each field of a default config is written, to leave out of a parsed file's output what it lacked and still lacks.</summary>
    private static readonly Dictionary<string, string> s_defaults = s_fields.ToDictionary(f => f.Name, f => PythonJson.Render(f.Value(new AdapterConfig()), 1), StringComparer.Ordinal);

    private static object? Value<T>(OneOrMany<T>? v) => v is null ? null : v.IsSingle ? v.Single : v.Items;

    private static string BiasName(LoraBias bias) => (int)bias >= 0 && (int)bias < EnumNames.PeftBias.Length ? EnumNames.PeftBias[(int)bias] : bias.ToString();

    // ------------------------------------------------------------------ writing

    /// <summary>
    /// The config as PEFT writes <c>adapter_config.json</c>: <c>json.dumps(config, indent=2, sort_keys=True)</c>
    /// (two-space indent, keys sorted, <c>\uXXXX</c> for non-ASCII, no final newline). A config built in code
    /// writes every field that has a property; a parsed one writes the fields its file had (unchanged values with
    /// their original literals) plus any whose value now differs from PEFT's default. Throws
    /// <see cref="AdapterConfigException"/> when a value breaks the rules.
    /// </summary>
    public string ToJson()
    {
        Validate(null);
        return Render();
    }

    /// <summary><see cref="ToJson"/> as UTF-8 bytes: exactly what <see cref="AdapterDirectory"/> writes.</summary>
    public byte[] ToUtf8Bytes() => Encoding.UTF8.GetBytes(ToJson());

    private string Render()
    {
        var members = new List<KeyValuePair<string, object?>>();
        foreach (var f in s_fields)
        {
            var value = f.Value(this);
            string canonical = PythonJson.Render(value, 1);
            if (_source is not null && _source.TryGetValue(f.Name, out var src))
                members.Add(KeyValuePair.Create(f.Name, src.Canonical == canonical ? src.Raw : value));
            else if (_source is null || f.AlwaysWritten || canonical != s_defaults[f.Name])
                members.Add(KeyValuePair.Create(f.Name, value));
        }
        foreach (var (name, raw) in OtherFields) members.Add(KeyValuePair.Create(name, (object?)raw));
        return PythonJson.Render(new PythonJson.Object(members));
    }

    /// <inheritdoc/>
    public bool Equals(AdapterConfig? other) => other is not null && (ReferenceEquals(this, other) || Render() == other.Render());

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Render());

    // ------------------------------------------------------------------ reading

    /// <summary>
    /// The largest <c>adapter_config.json</c> read (16 MiB; PEFT writes about 1 KB, a <c>rank_pattern</c> over
    /// thousands of layers a few hundred KB).
    /// </summary>
    public const long MaxFileSize = 16 << 20;

    /// <summary>
    /// Reads and checks <paramref name="path"/> (an <c>adapter_config.json</c>, possibly through symbolic links). Only
    /// a regular file of at most <see cref="MaxFileSize"/> bytes is read: an empty file, a pipe or a device (which
    /// report no size) and a larger file throw <see cref="AdapterConfigException"/> without being read.
    /// </summary>
    public static AdapterConfig Load(string path) => Parse(ReadFile(path), path);

    /// <summary>The bytes of a config file, under the rules of <see cref="Load"/>.</summary>
    internal static byte[] ReadFile(string path) => LoraGen.IO.RegularFile.ReadAllBytes(path, MaxFileSize,
        size => new AdapterConfigException(path, null, $"is {size} bytes; a config is at most {MaxFileSize} bytes."),
        () => new AdapterConfigException(path, null, "is empty or not a regular file (a pipe or a device)."));

    /// <summary>Parses and checks a config from UTF-8 JSON; <paramref name="source"/> (a file name) appears in errors.</summary>
    public static AdapterConfig Parse(ReadOnlySpan<byte> utf8Json, string? source = null)
    {
        if (utf8Json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8Json = utf8Json[3..];
        JsonDocument doc;
        try { doc = JsonDocument.Parse(utf8Json.ToArray()); }
        catch (JsonException e) { throw new AdapterConfigException(source, null, $"is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new AdapterConfigException(source, null, $"must hold a JSON object, not {Describe(root)}.");
            // json.load keeps the last of duplicate keys.
            try
            {
                var props = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var p in root.EnumerateObject()) props[p.Name] = p.Value;
                return FromProperties(props, source);
            }
            catch (InvalidOperationException e)   // the only source here: reading names and strings of the parsed document
            {
                // System.Text.Json validates text lazily: a name or string with invalid UTF-8 or an escaped lone
                // surrogate ("tar\ud800get") only fails when read, as an InvalidOperationException.
                throw new AdapterConfigException(source, null, $"holds a name or string that is not valid Unicode text: {e.Message}");
            }
        }
    }

    /// <summary>Parses and checks a config from JSON text; <paramref name="source"/> (a file name) appears in errors.</summary>
    public static AdapterConfig Parse(string json, string? source = null) => Parse(Encoding.UTF8.GetBytes(json), source);

    private static AdapterConfig FromProperties(Dictionary<string, JsonElement> props, string? source)
    {
        var rd = new Reader(source);
        bool Has(string name, out JsonElement e) => props.TryGetValue(name, out e);

        if (Has(ConfigFields.PeftType, out var pt) && rd.String(pt, ConfigFields.PeftType) != ConfigFields.LoraPeftType)
            throw rd.Bad(ConfigFields.PeftType, $"is {Describe(pt)}: this is not a LoRA adapter (\"{ConfigFields.LoraPeftType}\").");
        var config = new AdapterConfig
        {
            R = Has(ConfigFields.R, out var e) ? rd.Int(e, ConfigFields.R) : PeftDefaults.R,
            LoraAlpha = Has(ConfigFields.LoraAlpha, out e) ? rd.Number(e, ConfigFields.LoraAlpha) : PeftDefaults.LoraAlpha,
            LoraDropout = Has(ConfigFields.LoraDropout, out e) ? rd.Number(e, ConfigFields.LoraDropout) : PeftDefaults.LoraDropout,
            TargetModules = Has(ConfigFields.TargetModules, out e) ? rd.StringOrList(e, ConfigFields.TargetModules) : null,
            ExcludeModules = Has(ConfigFields.ExcludeModules, out e) ? rd.StringOrList(e, ConfigFields.ExcludeModules) : null,
            Bias = Has(ConfigFields.Bias, out e) ? rd.Bias(e) : DefaultBias,
            UseRsLora = Has(ConfigFields.UseRsLora, out e) ? rd.Bool(e, ConfigFields.UseRsLora) : PeftDefaults.UseRsLora,
            UseDora = Has(ConfigFields.UseDora, out e) ? rd.Bool(e, ConfigFields.UseDora) : PeftDefaults.UseDora,
            FanInFanOut = Has(ConfigFields.FanInFanOut, out e) ? rd.Bool(e, ConfigFields.FanInFanOut) : PeftDefaults.FanInFanOut,
            InitLoraWeights = Has(ConfigFields.InitLoraWeights, out e) ? rd.Init(e) : InitLoraWeights.FromBool(PeftDefaults.InitLoraWeights),
            RankPattern = Has(ConfigFields.RankPattern, out e) ? rd.Pattern(e, ConfigFields.RankPattern, rd.Int) : ReadOnlyDictionary<string, int>.Empty,
            AlphaPattern = Has(ConfigFields.AlphaPattern, out e) ? rd.Pattern(e, ConfigFields.AlphaPattern, rd.Number) : ReadOnlyDictionary<string, double>.Empty,
            TaskType = Has(ConfigFields.TaskType, out e) ? rd.StringOrNull(e, ConfigFields.TaskType) : null,
            BaseModelNameOrPath = Has(ConfigFields.BaseModelNameOrPath, out e) ? rd.StringOrNull(e, ConfigFields.BaseModelNameOrPath) : null,
            Revision = Has(ConfigFields.Revision, out e) ? rd.StringOrNull(e, ConfigFields.Revision) : null,
            InferenceMode = Has(ConfigFields.InferenceMode, out e) ? rd.Bool(e, ConfigFields.InferenceMode) : PeftDefaults.InferenceMode,
            LayersToTransform = Has(ConfigFields.LayersToTransform, out e) ? rd.IntOrList(e, ConfigFields.LayersToTransform) : null,
            LayersPattern = Has(ConfigFields.LayersPattern, out e) ? rd.StringOrList(e, ConfigFields.LayersPattern) : null,
            ModulesToSave = Has(ConfigFields.ModulesToSave, out e) ? rd.StringListOrNull(e, ConfigFields.ModulesToSave) : null,
            OtherFields = new ReadOnlyDictionary<string, JsonElement>(
                props.Where(p => !s_known.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value.Clone(), StringComparer.Ordinal)),
        };
        config.Validate(source);
        config._source = s_fields.Where(f => props.ContainsKey(f.Name))
            .ToDictionary(f => f.Name, f => (props[f.Name].Clone(), PythonJson.Render(f.Value(config), 1)), StringComparer.Ordinal);
        return config;
    }

    // ------------------------------------------------------------------ the rules

    /// <summary>Checks every field against PEFT's rules (the contract's <see cref="ConfigRules"/> for r, α and dropout).</summary>
    private void Validate(string? source)
    {
        var rd = new Reader(source);
        void Check(string? problem, string field, string value)
        {
            if (problem is not null) throw rd.Bad(field, $"is {value}: {problem}.");
        }
        Check(ConfigRules.Rank(R), ConfigFields.R, R.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Check(ConfigRules.Alpha(LoraAlpha), ConfigFields.LoraAlpha, PythonJson.Float(LoraAlpha));
        Check(ConfigRules.Dropout(LoraDropout), ConfigFields.LoraDropout, PythonJson.Float(LoraDropout));
        foreach (var (key, r) in RankPattern)
        {
            Check(ConfigRules.Rank(r), ConfigFields.RankPattern, $"{r} for \"{key}\"");
            Check(PeftRegex.Problem(key), ConfigFields.RankPattern, $"\"{key}\"");
        }
        foreach (var (key, a) in AlphaPattern)
        {
            Check(ConfigRules.Alpha(a), ConfigFields.AlphaPattern, $"{PythonJson.Float(a)} for \"{key}\"");
            Check(PeftRegex.Problem(key), ConfigFields.AlphaPattern, $"\"{key}\"");
        }
        if (!Enum.IsDefined(Bias)) throw rd.Bad(ConfigFields.Bias, $"is {(int)Bias}, which is not a LoraBias.");
        if (InitLoraWeights is null) throw rd.Bad(ConfigFields.InitLoraWeights, "must be set.");
        if (TargetModules is { IsSingle: true } t && !string.Equals(t.Single, ConfigFields.AllLinear, StringComparison.OrdinalIgnoreCase))
            Check(PeftRegex.Problem(t.Single), ConfigFields.TargetModules, $"\"{t.Single}\"");
        if (ExcludeModules is { IsSingle: true } x)
            Check(PeftRegex.Problem(x.Single), ConfigFields.ExcludeModules, $"\"{x.Single}\"");
        foreach (var p in LayersPattern?.Items ?? [])
            Check(PeftRegex.Problem(p), ConfigFields.LayersPattern, $"\"{p}\"");
        foreach (var m in ModulesToSave ?? [])
            Check(PeftRegex.Problem(m), ConfigFields.ModulesToSave, $"\"{m}\"");
        // PEFT's own cross-field checks (LoraConfig.__post_init__), so a config it would refuse is refused here.
        if (TargetModules is { IsSingle: true } && LayersToTransform is not null)
            throw rd.Bad(ConfigFields.LayersToTransform, $"cannot be used when \"{ConfigFields.TargetModules}\" is a string (a regular expression).");
        if (TargetModules is { IsSingle: true } && LayersPattern is not null)
            throw rd.Bad(ConfigFields.LayersPattern, $"cannot be used when \"{ConfigFields.TargetModules}\" is a string (a regular expression).");
        bool patternGiven = LayersPattern is { } lp && (lp.IsSingle ? lp.Single.Length > 0 : lp.Items.Count > 0);
        bool layersGiven = LayersToTransform is { } lt && (lt.IsSingle ? lt.Single != 0 : lt.Items.Count > 0);   // Python truthiness, as PEFT tests it
        if (patternGiven && !layersGiven)
            throw rd.Bad(ConfigFields.LayersPattern, $"needs \"{ConfigFields.LayersToTransform}\" as well.");
        foreach (var name in OtherFields.Keys)
            if (s_known.Contains(name)) throw rd.Bad(name, $"is in {nameof(OtherFields)}; set it through its property.");
    }

    /// <summary>Type checks for the JSON values of known fields; every failure names the field and the file.</summary>
    private readonly struct Reader(string? source)
    {
        public AdapterConfigException Bad(string field, string detail) => new(source, field, detail);

        private AdapterConfigException Expected(string field, string what, JsonElement got) => Bad(field, $"must be {what}, not {Describe(got)}.");

        public int Int(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Expected(field, "an integer", e);

        public double Number(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v) && double.IsFinite(v) ? v : throw Expected(field, "a number", e);

        public bool Bool(JsonElement e, string field) => e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Expected(field, "true or false", e),
        };

        public string String(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Expected(field, "a string", e);

        public string? StringOrNull(JsonElement e, string field) => e.ValueKind == JsonValueKind.Null ? null : String(e, field);

        public OneOrMany<string>? StringOrList(JsonElement e, string field)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Null: return null;
                case JsonValueKind.String: return OneOrMany<string>.One(e.GetString()!);
                case JsonValueKind.Array:
                    var self = this;
                    return OneOrMany<string>.Many(e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw self.Expected(field, "a string or a list of strings", x)));
                default: throw Expected(field, "a string or a list of strings", e);
            }
        }

        public IReadOnlyList<string>? StringListOrNull(JsonElement e, string field)
        {
            if (e.ValueKind == JsonValueKind.Null) return null;
            if (e.ValueKind != JsonValueKind.Array) throw Expected(field, "a list of strings", e);
            var self = this;
            return e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw self.Expected(field, "a list of strings", x)).ToArray();
        }

        public OneOrMany<int>? IntOrList(JsonElement e, string field)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Null: return null;
                case JsonValueKind.Number: return OneOrMany<int>.One(Int(e, field));
                case JsonValueKind.Array:
                    var self = this;
                    return OneOrMany<int>.Many(e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : throw self.Expected(field, "an integer or a list of integers", x)));
                default: throw Expected(field, "an integer or a list of integers", e);
            }
        }

        public LoraBias Bias(JsonElement e)
        {
            var s = String(e, ConfigFields.Bias);
            int i = Array.IndexOf(EnumNames.PeftBias, s);
            return i >= 0 ? (LoraBias)i : throw Bad(ConfigFields.Bias, $"must be one of {string.Join(", ", EnumNames.PeftBias.Select(b => $"\"{b}\""))}, not {Describe(e)}.");
        }

        public InitLoraWeights Init(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.True => InitLoraWeights.FromBool(true),
            JsonValueKind.False => InitLoraWeights.FromBool(false),
            JsonValueKind.String when e.GetString()!.Length > 0 => InitLoraWeights.FromMethod(e.GetString()!),
            _ => throw Expected(ConfigFields.InitLoraWeights, "true, false or a method name", e),
        };

        /// <summary>A rank/alpha pattern: an object (kept in file order) or null (empty).</summary>
        public IReadOnlyDictionary<string, T> Pattern<T>(JsonElement e, string field, Func<JsonElement, string, T> value)
        {
            var map = new OrderedDictionary<string, T>(StringComparer.Ordinal);
            if (e.ValueKind == JsonValueKind.Null) return new ReadOnlyDictionary<string, T>(map);
            if (e.ValueKind != JsonValueKind.Object) throw Expected(field, "an object", e);
            foreach (var p in e.EnumerateObject())
            {
                try { map[p.Name] = value(p.Value, field); }
                catch (AdapterConfigException ex) { throw Bad(field, $"entry \"{p.Name}\" {ex.Message[(ex.Message.IndexOf(" must ", StringComparison.Ordinal) + 1)..]}"); }
            }
            return new ReadOnlyDictionary<string, T>(map);
        }
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "the string " + PythonJson.Render(e),
        JsonValueKind.Number => "the number " + e.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => e.ValueKind.ToString(),
    };
}
