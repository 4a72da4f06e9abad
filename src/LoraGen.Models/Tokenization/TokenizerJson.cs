using System.Text.Json;

namespace LoraGen.Tokenization;

/// <summary>JSON parsing for the tokenizer files: depth-capped, top-level object, errors naming the file.</summary>
internal static class TokenizerJson
{
    public static JsonDocument Parse(string json, string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFileException(file, null, $"not valid JSON ({e.Message})", e);
        }
        if (doc.RootElement.ValueKind is var kind && kind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new TokenizerFileException(file, null, $"expected a JSON object at the top, found {kind}");
        }
        return doc;
    }

    /// <summary>A vocabulary object token → id (ids non-negative, unique).</summary>
    public static Dictionary<string, int> Vocab(JsonElement obj, string file, string key)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new TokenizerFileException(file, key, "expected an object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new HashSet<int>();
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw new TokenizerFileException(file, $"{key}.{p.Name}", "expected a non-negative integer id");
            if (!vocab.TryAdd(p.Name, id)) throw new TokenizerFileException(file, $"{key}.{p.Name}", "token appears twice");
            if (!ids.Add(id)) throw new TokenizerFileException(file, $"{key}.{p.Name}", $"id {id} is given to two tokens");
        }
        if (vocab.Count == 0) throw new TokenizerFileException(file, key, "the vocabulary is empty");
        return vocab;
    }

    /// <summary>One merge "a b" (both parts non-empty, no further space).</summary>
    public static (string, string) Merge(string line, string file, string key)
    {
        int sp = line.IndexOf(' ');
        if (sp <= 0 || sp == line.Length - 1 || line.IndexOf(' ', sp + 1) >= 0)
            throw new TokenizerFileException(file, key, $"a merge must be two tokens separated by one space, got \"{(line.Length > 40 ? line[..40] + "…" : line)}\"");
        return (line[..sp], line[(sp + 1)..]);
    }
}
