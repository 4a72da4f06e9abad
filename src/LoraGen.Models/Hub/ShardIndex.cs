using System.Text.Json;

namespace LoraGen.Hub;

/// <summary>
/// <c>model.safetensors.index.json</c> of a sharded checkpoint: <c>weight_map</c> (tensor key → shard file name) and
/// the optional <c>metadata.total_size</c>. Shard names must be plain file names in the model directory.
/// </summary>
/// <param name="WeightMap">Tensor key → shard file name, in file order.</param>
/// <param name="TotalSize">metadata.total_size, when given.</param>
public sealed record ShardIndex(IReadOnlyDictionary<string, string> WeightMap, long? TotalSize)
{
    /// <summary>The distinct shard file names, in first-use order.</summary>
    public IReadOnlyList<string> Shards => WeightMap.Values.Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Parses index JSON; <paramref name="file"/> names it in errors.</summary>
    public static ShardIndex Parse(string json, string file)
    {
        try
        {
            return ParseChecked(json, file);
        }
        catch (InvalidOperationException e)   // System.Text.Json reports a lone surrogate in a string lazily
        {
            throw new ModelFileException(file, null, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
    }

    private static ShardIndex ParseChecked(string json, string file)
    {
        using var doc = JsonFields.Parse(json, file);
        var f = JsonFields.Of(doc.RootElement, file);
        long? total = null;
        if (f.Object("metadata") is { } meta && meta.TryGet("total_size", out var ts))
        {
            if (ts.ValueKind != JsonValueKind.Number || !ts.TryGetInt64(out long t) || t < 0) throw meta.Error("total_size", $"expected a non-negative integer, found {JsonFields.Describe(ts)}");
            total = t;
        }
        if (!f.TryGet("weight_map", out var map)) throw f.Error("weight_map", "required field is missing");
        if (map.ValueKind != JsonValueKind.Object) throw f.Error("weight_map", $"expected an object, found {JsonFields.Describe(map)}");
        var weights = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw f.Error("weight_map." + p.Name, $"expected a shard file name, found {JsonFields.Describe(p.Value)}");
            string shard = p.Value.GetString()!;
            if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw f.Error("weight_map." + p.Name, $"\"{shard}\" is not a plain file name in the model directory");
            if (!weights.TryAdd(p.Name, shard)) throw f.Error("weight_map." + p.Name, "key appears twice");
        }
        if (weights.Count == 0) throw f.Error("weight_map", "is empty");
        return new ShardIndex(weights, total);
    }
}
