using System.Text;
using System.Text.Json;
using LoraGen.Contract;
using LoraGen.IO;
using LoraGen.SafeTensors;

namespace LoraGen.Hub;

/// <summary>
/// Writes a model directory in transformers' layout from weights in backend layout: Conv1D weights transposed back to
/// [in, out], keys with or without GPT-2's <c>transformer.</c> prefix as the source had them, one
/// <c>model.safetensors</c> or the source's shards with a new index, in the given dtype. config.json and the tokenizer
/// files are copied from the source directory. Every file is written atomically.
/// </summary>
public static class CheckpointWriter
{
    /// <summary>The files copied unchanged from the source model directory when present.</summary>
    public static IReadOnlyList<string> CopiedFiles { get; } =
        [HfFiles.ModelConfig, "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.model"];

    /// <summary>
    /// Saves <paramref name="weights"/> (model key → backend-layout data) of <paramref name="layout"/> into
    /// <paramref name="outDirectory"/>, shaped like <paramref name="sourceDirectory"/> (key prefix, sharding).
    /// </summary>
    public static void Save(string outDirectory, string sourceDirectory, WeightLayout layout, IReadOnlyDictionary<string, float[]> weights,
        bool prefixInFile, ShardIndex? sourceIndex, SafetensorsDType dtype)
    {
        System.IO.Directory.CreateDirectory(outDirectory);
        var entries = new List<(string Shard, SafetensorsEntry Entry)>();
        foreach (var spec in layout.Specs)
        {
            if (!weights.TryGetValue(spec.Key, out var data)) throw new ArgumentException($"no weight for {spec.Key}");
            if (spec.Transposed)
            {
                var t = new float[data.Length];
                WeightLayout.Transpose(data, t, spec.Shape[0], spec.Shape[1]);
                data = t;
            }
            string fk = !prefixInFile && layout.OptionalPrefix is { } p && spec.Key.StartsWith(p, StringComparison.Ordinal) ? spec.Key[p.Length..] : spec.Key;
            string shard = sourceIndex is not null && sourceIndex.WeightMap.TryGetValue(fk, out var s) ? s : HfFiles.Weights;
            entries.Add((shard, SafetensorsEntry.FromFloats(fk, spec.FileShape, data, dtype)));
        }
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        var shards = entries.Select(e => e.Shard).Distinct(StringComparer.Ordinal).ToList();
        foreach (var shard in shards)
            SafetensorsWriter.Save(Path.Combine(outDirectory, shard), entries.Where(e => e.Shard == shard).Select(e => e.Entry), meta);
        if (sourceIndex is not null)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteStartObject("metadata");
                w.WriteNumber("total_size", entries.Sum(e => e.Entry.ByteLength));
                w.WriteEndObject();
                w.WriteStartObject("weight_map");
                foreach (var (shard, e) in entries.OrderBy(e => e.Entry.Name, StringComparer.Ordinal)) w.WriteString(e.Name, shard);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            AtomicFile.WriteAllText(Path.Combine(outDirectory, HfFiles.ShardIndex), Encoding.UTF8.GetString(ms.ToArray()) + "\n");
        }
        if (Path.GetFullPath(sourceDirectory) == Path.GetFullPath(outDirectory)) return;
        foreach (var name in CopiedFiles)
        {
            string from = Path.Combine(sourceDirectory, name);
            if (File.Exists(from)) AtomicFile.WriteAllBytes(Path.Combine(outDirectory, name), File.ReadAllBytes(from));
        }
    }
}
