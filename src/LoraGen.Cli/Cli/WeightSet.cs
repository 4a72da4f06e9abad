using System.Text.Json;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>
/// A checkpoint's weights by key: one .safetensors file, a model directory with <c>model.safetensors</c>, or a
/// sharded one with <c>model.safetensors.index.json</c> (transformers' layout).
/// </summary>
internal sealed class WeightSet : IDisposable
{
    /// <summary>transformers' index of a sharded checkpoint.</summary>
    public const string IndexFile = Contract.HfFiles.ShardIndex;

    private readonly Dictionary<string, int> _shardOf = new(StringComparer.Ordinal);

    private WeightSet(string root, string? indexPath, List<SafetensorsFile> shards)
    {
        Root = root;
        IndexPath = indexPath;
        Shards = shards;
        for (int s = 0; s < shards.Count; s++)
            foreach (var t in shards[s].Tensors)
                if (!_shardOf.TryAdd(t.Name, s))
                    throw CliException.Input($"{shards[s].Path}: key '{t.Name}' is also in {shards[_shardOf[t.Name]].Path}.");
    }

    /// <summary>The directory (or the file) given.</summary>
    public string Root { get; }

    /// <summary>The index file of a sharded checkpoint, or null.</summary>
    public string? IndexPath { get; }

    /// <summary>The files, in index order (or name order).</summary>
    public IReadOnlyList<SafetensorsFile> Shards { get; }

    /// <summary>Whether <see cref="Root"/> is a directory.</summary>
    public bool IsDirectory => Directory.Exists(Root);

    public IEnumerable<SafetensorsTensorInfo> Tensors => Shards.SelectMany(s => s.Tensors);

    public bool Contains(string key) => _shardOf.ContainsKey(key);

    public bool TryGet(string key, out SafetensorsFile file, out SafetensorsTensorInfo info)
    {
        if (_shardOf.TryGetValue(key, out int s))
        {
            file = Shards[s];
            info = file.Info(key);
            return true;
        }
        file = null!;
        info = null!;
        return false;
    }

    public long TotalBytes => Tensors.Sum(t => t.ByteLength);

    /// <summary>
    /// The key of module <paramref name="path"/>'s weight here: <c>PATH.weight</c>; or, in a checkpoint saved from the
    /// base model without transformers' <c>base_model_prefix</c> (GPT-2's original files spell
    /// <c>h.0.attn.c_attn.weight</c> for the module <c>transformer.h.0.attn.c_attn</c> that PEFT names), the key without
    /// the path's first segment, when no key here starts with that segment. Null when neither is here.
    /// </summary>
    public string? WeightKeyOf(string path)
    {
        string key = path + Contract.PeftKeys.WeightSuffix;
        if (Contains(key)) return key;
        int dot = path.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0) return null;
        string prefix = path[..(dot + 1)], shorter = path[(dot + 1)..] + Contract.PeftKeys.WeightSuffix;
        return Contains(shorter) && !_shardOf.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal)) ? shorter : null;
    }

    public static WeightSet Open(string path)
    {
        if (File.Exists(path)) return new WeightSet(path, null, [SafetensorsFile.Open(path)]);
        if (!Directory.Exists(path)) throw CliException.Input($"{path}: no such model directory or .safetensors file.");
        var index = Path.Combine(path, IndexFile);
        List<string> files;
        if (File.Exists(index))
        {
            files = ShardsOf(index);
        }
        else
        {
            files = Directory.GetFiles(path, "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;
            if (files.Count == 0) throw CliException.Input($"{path}: no .safetensors file and no {IndexFile}.");
        }
        var opened = new List<SafetensorsFile>();
        try
        {
            foreach (var f in files)
            {
                var full = Path.Combine(path, f);
                if (!File.Exists(full)) throw CliException.Input($"{index}: shard '{f}' does not exist.");
                opened.Add(SafetensorsFile.Open(full));
            }
            return new WeightSet(path, File.Exists(index) ? index : null, opened);
        }
        catch
        {
            foreach (var o in opened) o.Dispose();
            throw;
        }
    }

    /// <summary>The shard file names an index names, in first-use order.</summary>
    public static List<string> ShardsOf(string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw CliException.Input($"{index}: field \"weight_map\" is missing or not an object.");
            var files = new List<string>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw CliException.Input($"{index}: weight_map[\"{p.Name}\"] is not a file name.");
                var f = p.Value.GetString()!;
                if (f.Contains('/') || f.Contains('\\') || f.StartsWith('.')) throw CliException.Input($"{index}: weight_map[\"{p.Name}\"] = \"{f}\" is not a plain file name.");
                if (!files.Contains(f)) files.Add(f);
            }
            return files;
        }
        catch (JsonException e)
        {
            throw CliException.Input($"{index}: not valid JSON ({e.Message}).", e);
        }
    }

    public void Dispose()
    {
        foreach (var s in Shards) s.Dispose();
    }
}
