using LoraGen.Contract;
using LoraGen.SafeTensors;

namespace LoraGen.Hub;

/// <summary>
/// The weights of a model directory, opened and checked: <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c> names (each must exist and hold the keys the index gives it). Files are memory
/// mapped; nothing is read until <see cref="ReadInto"/> streams the weights into a model. Backend-neutral: tensors come out as float32 arrays (F32, F16
/// and BF16 converted), each already in the layout a backend holds (Conv1D weights transposed to [out, in]).
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _byKey;

    private Checkpoint(string directory, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> byKey, ShardIndex? index)
    {
        Directory = directory;
        _files = files;
        _byKey = byKey;
        Index = index;
    }

    /// <summary>The model directory.</summary>
    public string Directory { get; }

    /// <summary>The shard index, or null for a single <c>model.safetensors</c>.</summary>
    public ShardIndex? Index { get; }

    /// <summary>Every tensor key in the checkpoint, in file order.</summary>
    public IEnumerable<string> Keys => _files.SelectMany(f => f.Tensors.Select(t => t.Name));

    /// <summary>The dtype of the first tensor (the checkpoint's dtype, for saving in kind).</summary>
    public SafetensorsDType DType => _files.SelectMany(f => f.Tensors).Select(t => t.DType).FirstOrDefault(SafetensorsDType.F32);

    /// <summary>Whether the checkpoint holds <paramref name="key"/>.</summary>
    public bool Contains(string key) => _byKey.ContainsKey(key);

    /// <summary>The file and tensor info of <paramref name="key"/>.</summary>
    public (SafetensorsFile File, SafetensorsTensorInfo Info) Find(string key) => (_byKey[key], _byKey[key].Info(key));

    /// <summary>Opens the weights of <paramref name="directory"/>; every problem is a <see cref="ModelFileException"/> naming the file.</summary>
    public static Checkpoint Open(string directory)
    {
        string single = Path.Combine(directory, HfFiles.Weights), indexPath = Path.Combine(directory, HfFiles.ShardIndex);
        var files = new List<SafetensorsFile>();
        try
        {
            if (File.Exists(indexPath))
            {
                var index = ShardIndex.Parse(ReadText(indexPath), indexPath);
                var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                foreach (var shard in index.Shards)
                {
                    string p = Path.Combine(directory, shard);
                    if (!File.Exists(p)) throw new ModelFileException(indexPath, index.WeightMap.First(kv => kv.Value == shard).Key, $"names shard {shard}, which does not exist in {directory}");
                    var f = OpenFile(p);
                    files.Add(f);
                    byShard[shard] = f;
                }
                var byKey = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                foreach (var (key, shard) in index.WeightMap)
                {
                    if (!byShard[shard].Contains(key)) throw new ModelFileException(indexPath, key, $"the index puts it in {shard}, which does not hold it");
                    byKey[key] = byShard[shard];
                }
                foreach (var f in files)
                    foreach (var t in f.Tensors)
                        if (!byKey.ContainsKey(t.Name)) throw new ModelFileException(f.Path!, t.Name, $"the tensor is not in {HfFiles.ShardIndex}'s weight_map");
                return new Checkpoint(directory, files, byKey, index);
            }
            if (File.Exists(single))
            {
                var f = OpenFile(single);
                files.Add(f);
                return new Checkpoint(directory, files, f.Tensors.ToDictionary(t => t.Name, _ => f, StringComparer.Ordinal), null);
            }
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
        string other = File.Exists(Path.Combine(directory, "pytorch_model.bin")) ? " (pytorch_model.bin is a pickle, which LoraGen does not read: convert it to safetensors)" : "";
        throw new ModelFileException(directory, null, $"holds neither {HfFiles.Weights} nor {HfFiles.ShardIndex}{other}");
    }

    /// <summary>
    /// Checks every key, shape and dtype of <paramref name="layout"/> against the files without reading a weight:
    /// missing, unexpected (not ignorable) and mis-shaped keys are reported together by name in one
    /// <see cref="ModelFileException"/>. Returns whether the file keys carry <see cref="WeightLayout.OptionalPrefix"/>.
    /// </summary>
    public bool Check(WeightLayout layout)
    {
        bool prefixInFile = layout.PrefixInFile(_byKey.ContainsKey);
        var missing = new List<string>();
        var mismatched = new List<string>();
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var spec in layout.Specs)
        {
            string fk = FileKey(layout, spec.Key, prefixInFile);
            if (!_byKey.TryGetValue(fk, out var file)) { missing.Add(fk); continue; }
            claimed.Add(fk);
            var info = file.Info(fk);
            if (!info.Shape.AsSpan().SequenceEqual(spec.FileShape))
                mismatched.Add($"{fk}: file [{string.Join(", ", info.Shape)}], config expects [{string.Join(", ", spec.FileShape)}]");
            else if (!info.DType.IsFloat())
                mismatched.Add($"{fk}: dtype {info.DType} is not a floating-point type (F32, F16, BF16 expected)");
        }
        var unexpected = Keys.Where(k => !claimed.Contains(k) && !layout.IsIgnorable(k)).ToList();
        if (missing.Count + mismatched.Count + unexpected.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys: {List(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys: {List(unexpected)}");
            if (mismatched.Count > 0) parts.Add($"wrong shapes: {List(mismatched)}");
            throw new ModelFileException(Index is null ? Path.Combine(Directory, HfFiles.Weights) : Path.Combine(Directory, HfFiles.ShardIndex), null,
                "the checkpoint does not fit config.json: " + string.Join("; ", parts));
        }
        return prefixInFile;
    }

    /// <summary>
    /// Streams every weight of <paramref name="layout"/> (after <see cref="Check"/>) as float32 in its backend layout
    /// straight into the span <paramref name="destination"/> gives for its model key, one tensor at a time: no second
    /// copy of the model is ever held (Conv1D weights pass through one scratch buffer, the largest one's size, to be
    /// transposed). Returns whether the file keys carried <see cref="WeightLayout.OptionalPrefix"/>.
    /// </summary>
    public bool ReadInto(WeightLayout layout, Func<string, Memory<float>> destination)
    {
        bool prefixInFile = Check(layout);
        float[]? scratch = null;   // one buffer, the largest transposed weight's size, reused
        foreach (var spec in layout.Specs)
        {
            string fk = FileKey(layout, spec.Key, prefixInFile);
            var file = _byKey[fk];
            var target = destination(spec.Key).Span;
            try
            {
                if (spec.Transposed)
                {
                    scratch ??= new float[layout.Specs.Where(x => x.Transposed).Max(x => checked((int)x.ElementCount))];
                    var buffer = scratch.AsSpan(0, target.Length);
                    file.ReadInto(fk, buffer);
                    WeightLayout.Transpose(buffer, target, spec.Shape[1], spec.Shape[0]);
                }
                else file.ReadInto(fk, target);
            }
            catch (SafetensorsException e)
            {
                throw new ModelFileException(file.Path ?? Directory, fk, e.Message, e);
            }
        }
        return prefixInFile;
    }

    /// <summary>
    /// Every weight of <paramref name="layout"/> as a float32 array in its backend layout, by model key (checked as
    /// <see cref="Check"/> does; nothing is returned unless everything fits). Holds the whole model in memory: to fill
    /// a model, stream with <see cref="ReadInto"/> instead. Returns whether the file keys carried the optional prefix.
    /// </summary>
    public (Dictionary<string, float[]> Weights, bool PrefixInFile) ReadAll(WeightLayout layout)
    {
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var specs = layout.Specs.ToDictionary(s => s.Key, StringComparer.Ordinal);
        bool prefix = ReadInto(layout, key => weights[key] = new float[checked((int)specs[key].ElementCount)]);
        return (weights, prefix);
    }

    private static string FileKey(WeightLayout layout, string key, bool prefixInFile) =>
        !prefixInFile && key.StartsWith(layout.OptionalPrefix!, StringComparison.Ordinal) ? key[layout.OptionalPrefix!.Length..] : key;

    private static string List(List<string> keys) => string.Join(", ", keys.Take(20)) + (keys.Count > 20 ? $" … ({keys.Count} in all)" : "");

    private static SafetensorsFile OpenFile(string path)
    {
        try
        {
            return SafetensorsFile.Open(path);
        }
        catch (SafetensorsException e)
        {
            throw new ModelFileException(path, e.Key, e.Message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, null, $"cannot be read ({e.Message})", e);
        }
    }

    internal static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, null, $"cannot be read ({e.Message})", e);
        }
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
