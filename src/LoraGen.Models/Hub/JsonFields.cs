using System.Globalization;
using System.Text.Json;

namespace LoraGen.Hub;

/// <summary>
/// Reads the fields of one JSON object with typed errors naming the file and field. Used by every JSON input of a model
/// directory (config.json, the shard index; the tokenizer files read theirs through the same rules).
/// </summary>
internal sealed class JsonFields
{
    private readonly JsonElement _obj;

    private JsonFields(JsonElement obj, string file, string prefix)
    {
        _obj = obj;
        File = file;
        Prefix = prefix;
    }

    /// <summary>The file, for messages.</summary>
    public string File { get; }

    /// <summary>The path of this object in the file ("" at the top, else "rope_scaling.").</summary>
    public string Prefix { get; }

    /// <summary>Parses <paramref name="json"/>; the top level must be an object. Depth is capped (no stack exhaustion on hostile input).</summary>
    public static JsonDocument Parse(string json, string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new ModelFileException(file, null, $"not valid JSON ({e.Message})", e);
        }
        if (doc.RootElement.ValueKind is var kind && kind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new ModelFileException(file, null, $"expected a JSON object at the top, found {kind}");
        }
        return doc;
    }

    /// <summary>The reader of a top-level object.</summary>
    public static JsonFields Of(JsonElement obj, string file) => new(obj, file, "");

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string name) => _obj.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>The raw element, if present and not null.</summary>
    public bool TryGet(string name, out JsonElement e) => _obj.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>A nested object's reader, or null when absent or null.</summary>
    public JsonFields? Object(string name)
    {
        if (!TryGet(name, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Object) throw Error(name, $"expected an object, found {Describe(e)}");
        return new JsonFields(e, File, Prefix + name + ".");
    }

    /// <summary>A required integer within [min, max].</summary>
    public int Int(string name, int min = 0, int max = int.MaxValue) =>
        TryGet(name, out var e) ? AsInt(name, e, min, max) : throw Error(name, "required field is missing");

    /// <summary>An optional integer within [min, max], or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback, int min, int max) => TryGet(name, out var e) ? AsInt(name, e, min, max) : fallback;

    /// <summary>An optional integer, or null.</summary>
    public int? NullableInt(string name, int min = 0, int max = int.MaxValue) => TryGet(name, out var e) ? AsInt(name, e, min, max) : null;

    /// <summary>An integer or a list of integers (e.g. <c>eos_token_id</c>); empty when absent.</summary>
    public int[] IntOrInts(string name)
    {
        if (!TryGet(name, out var e)) return [];
        if (e.ValueKind == JsonValueKind.Array)
        {
            var list = new List<int>();
            int i = 0;
            foreach (var item in e.EnumerateArray()) list.Add(AsInt($"{name}[{i++}]", item, 0, int.MaxValue));
            return list.ToArray();
        }
        return [AsInt(name, e, 0, int.MaxValue)];
    }

    /// <summary>A required finite number, strictly greater than <paramref name="above"/>.</summary>
    public double Number(string name, double above = double.NegativeInfinity) =>
        TryGet(name, out var e) ? AsNumber(name, e, above) : throw Error(name, "required field is missing");

    /// <summary>An optional finite number, or <paramref name="fallback"/>.</summary>
    public double Number(string name, double fallback, double above) => TryGet(name, out var e) ? AsNumber(name, e, above) : fallback;

    /// <summary>An optional boolean, or <paramref name="fallback"/>.</summary>
    public bool Bool(string name, bool fallback)
    {
        if (!TryGet(name, out var e)) return fallback;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"expected true or false, found {Describe(e)}"),
        };
    }

    /// <summary>A required string.</summary>
    public string String(string name) => String(name, null) ?? throw Error(name, "required field is missing");

    /// <summary>An optional string, or <paramref name="fallback"/>.</summary>
    public string? String(string name, string? fallback)
    {
        if (!TryGet(name, out var e)) return fallback;
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(name, $"expected a string, found {Describe(e)}");
    }

    /// <summary>A typed error naming the file and this field.</summary>
    public ModelFileException Error(string name, string detail) => new(File, Prefix + name, detail);

    private int AsInt(string name, JsonElement e, int min, int max)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v)) throw Error(name, $"expected an integer, found {Describe(e)}");
        if (v < min || v > max) throw Error(name, $"{v} is out of range [{min}, {max}]");
        return (int)v;
    }

    private double AsNumber(string name, JsonElement e, double above)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v)) throw Error(name, $"expected a finite number, found {Describe(e)}");
        if (!(v > above)) throw Error(name, $"{v.ToString(CultureInfo.InvariantCulture)} must be greater than {above.ToString(CultureInfo.InvariantCulture)}");
        return v;
    }

    /// <summary>A short description of a JSON value for messages (kind and, for scalars, at most 40 characters).</summary>
    public static string Describe(JsonElement e)
    {
        string raw = e.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? e.ValueKind.ToString().ToLowerInvariant() : e.GetRawText();
        return raw.Length > 40 ? raw[..40] + "…" : raw;
    }
}
