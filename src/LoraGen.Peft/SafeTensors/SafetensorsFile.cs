using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;

namespace LoraGen.SafeTensors;

/// <summary>
/// A validated, read-only safetensors file. <see cref="Open"/> memory-maps the file and checks every rule of the
/// reference implementation. Data is handed out as raw bytes, as float32 copies (F16, BF16 and the other numeric
/// types converted), or, for F32 data that is 4-byte aligned in a mapped file, as a zero-copy
/// <see cref="Memory{T}"/> view that a tensor type can wrap.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest header the reference implementation accepts.</summary>
    public const long MaxHeaderSize = 100_000_000;

    private readonly MemoryMappedFile? _mmf;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte[]? _bytes;
    private byte* _base;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(string? path, MemoryMappedFile? mmf, MemoryMappedViewAccessor? view, byte[]? bytes, long length)
    {
        Path = path;
        _mmf = mmf;
        _view = view;
        _bytes = bytes;
        Length = length;
        if (view is not null)
        {
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _base = p + view.PointerOffset;
        }
        try
        {
            var (tensors, metadata, dataStart) = ParseHeader(Bytes(0, Math.Min(length, 8 + MaxHeaderSize)), length, path);
            Tensors = tensors;
            Metadata = metadata;
            _dataStart = dataStart;
            _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens and validates <paramref name="path"/> by memory mapping. Symbolic links are followed (sizes are the
    /// target's, as in the Hugging Face cache); files of any size map whole (views and offsets are 64-bit). A file that
    /// reports fewer than 8 bytes — empty, or not a regular file (a pipe, a device) — is refused without being opened.
    /// </summary>
    public static SafetensorsFile Open(string path)
    {
        var length = LoraGen.IO.RegularFile.Length(path);
        if (length < 8) throw new SafetensorsException(SafetensorsRule.HeaderTooSmall, path, null, $"the file has {length} bytes (or is not a regular file); at least 8 are needed for the header length.");
        // Copy-on-write over a read-only handle: zero-copy views may be written to (the pages become private);
        // the file itself is never modified.
        var stream = LoraGen.IO.RegularFile.OpenRead(path);
        MemoryMappedFile mmf;
        try
        {
            length = stream.Length;   // the opened file's own size, should it have changed since
            if (length < 8) throw new SafetensorsException(SafetensorsRule.HeaderTooSmall, path, null, $"the file has {length} bytes; at least 8 are needed for the header length.");
            mmf = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        try
        {
            var view = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.CopyOnWrite);
            return new SafetensorsFile(path, mmf, view, null, length);
        }
        catch
        {
            mmf.Dispose();
            throw;
        }
    }

    /// <summary>Validates an in-memory safetensors image (<paramref name="name"/> appears in error messages).</summary>
    public static SafetensorsFile FromBytes(byte[] bytes, string? name = null) => new(name, null, null, bytes, bytes.Length);

    /// <summary>The file path, or the name given to <see cref="FromBytes"/>.</summary>
    public string? Path { get; }

    /// <summary>The size of the file in bytes.</summary>
    public long Length { get; }

    /// <summary>The tensors, in the order of their data in the file.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Whether the file holds a tensor named <paramref name="key"/>.</summary>
    public bool Contains(string key) => _byName.ContainsKey(key);

    /// <summary>The header entry of <paramref name="key"/>; throws <see cref="SafetensorsRule.TensorNotFound"/> when absent.</summary>
    public SafetensorsTensorInfo Info(string key) =>
        _byName.TryGetValue(key, out var info) ? info
        : throw new SafetensorsException(SafetensorsRule.TensorNotFound, Path, key, $"the file has no such tensor ({_byName.Count} tensors).");

    /// <summary>
    /// The raw little-endian bytes of <paramref name="key"/>, valid until this file is disposed. A tensor of more than
    /// int.MaxValue bytes throws <see cref="SafetensorsRule.TensorUnreadable"/> (use <see cref="RawBytes(string, long, int)"/>).
    /// </summary>
    public ReadOnlySpan<byte> RawBytes(string key)
    {
        var info = Info(key);
        if (info.ByteLength > int.MaxValue)
            throw new SafetensorsException(SafetensorsRule.TensorUnreadable, Path, key, $"{info.ByteLength} bytes do not fit one span (at most {int.MaxValue}); read it in parts.");
        return Bytes(_dataStart + info.Begin, info.ByteLength);
    }

    /// <summary>
    /// <paramref name="count"/> raw bytes of <paramref name="key"/> from byte <paramref name="start"/> of its data (for
    /// tensors larger than a span), valid until this file is disposed.
    /// </summary>
    public ReadOnlySpan<byte> RawBytes(string key, long start, int count)
    {
        var info = Info(key);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > info.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(count), $"{Path ?? "safetensors"}: tensor '{key}' has {info.ByteLength} bytes; [{start}, {start + count}) is outside them.");
        return Bytes(_dataStart + info.Begin + start, count);
    }

    /// <summary>
    /// The tensor's elements as float32. F32 data that is 4-byte aligned in a memory-mapped file is returned as a
    /// zero-copy view that is valid until this file is disposed (writes to it stay private: the file is not
    /// changed); everything else is a converted copy (as <see cref="ReadFloats(string)"/>).
    /// <para>
    /// <b>When a zero-copy view is safe.</b> The view reads the file's pages directly, so it is safe only while (1) this
    /// <see cref="SafetensorsFile"/> is not disposed and (2) no process truncates or rewrites the file in place. A
    /// file replaced by rename (as <see cref="LoraGen.IO.AtomicFile"/> and <c>AdapterDirectory.Save</c> do) or deleted
    /// is fine: the mapping keeps the old contents. A file truncated under the mapping makes the next access to a
    /// page past the new end fault (SIGBUS on Linux, which .NET cannot catch: the process dies). Nothing can stop
    /// another process from truncating a file on Linux/macOS, so use views only for files you control; the library's
    /// own loading paths (<c>LoadWeights</c>, adapter <c>Load</c>, <see cref="ReadFloats(string)"/>,
    /// <see cref="ReadInto(string, Span{float})"/>) copy and never hand out a view.
    /// </para>
    /// </summary>
    public Memory<float> GetFloatMemory(string key)
    {
        var info = Info(key);
        long offset = _dataStart + info.Begin;
        if (info.DType == SafetensorsDType.F32 && _base != null && ((nint)(_base + offset) & 3) == 0)
            return new NativeFloatMemory((float*)(_base + offset), CheckedElementCount(info, int.MaxValue)).Memory;
        return ReadFloats(info);
    }

    /// <summary>The tensor's elements as a float32 copy that stays valid after this file is disposed.</summary>
    public float[] ReadFloats(string key) => ReadFloats(Info(key));

    private float[] ReadFloats(SafetensorsTensorInfo info)
    {
        var data = new float[CheckedElementCount(info, Array.MaxLength)];
        ReadInto(info, data);
        return data;
    }

    /// <summary>The element count, or a typed error naming the tensor when it exceeds <paramref name="limit"/>.</summary>
    private int CheckedElementCount(SafetensorsTensorInfo info, int limit) =>
        info.ElementCount <= limit ? (int)info.ElementCount
        : throw new SafetensorsException(SafetensorsRule.TensorUnreadable, Path, info.Name,
            $"{info.DType} {SafetensorsDTypes.FormatShape(info.Shape)} has {info.ElementCount} elements; one float32 array or view holds at most {limit}.");

    /// <summary>Converts the tensor's elements to float32 into <paramref name="destination"/>, which must have exactly as many elements.</summary>
    public void ReadInto(string key, Span<float> destination) => ReadInto(Info(key), destination);

    private void ReadInto(SafetensorsTensorInfo info, Span<float> destination)
    {
        string key = info.Name;
        if (destination.Length != info.ElementCount)
            throw new ArgumentException($"{Path ?? "safetensors"}: tensor '{key}' has {info.ElementCount} elements ({SafetensorsDTypes.FormatShape(info.Shape)}), the destination {destination.Length}.");
        if (!SafetensorsDTypes.CanReadAsFloat(info.DType))
            throw new SafetensorsException(SafetensorsRule.TensorUnreadable, Path, key, $"dtype {info.DType} cannot be read as float32.");
        // In chunks, so a tensor of more than 2 GiB converts too (a span holds at most int.MaxValue bytes).
        const int chunk = 1 << 26;   // elements
        int size = info.DType.Size();
        for (long done = 0; done < destination.Length; done += chunk)
        {
            int n = (int)Math.Min(chunk, destination.Length - done);
            SafetensorsDTypes.ToFloat(info.DType, Bytes(_dataStart + info.Begin + done * size, (long)n * size), destination.Slice((int)done, n), key);
        }
    }

    private ReadOnlySpan<byte> Bytes(long offset, long count)
    {
        ObjectDisposedException.ThrowIf(_base == null && _bytes is null, this);
        if (count > int.MaxValue)
            throw new SafetensorsException(SafetensorsRule.TensorUnreadable, Path, null, $"{count} bytes at offset {offset} do not fit one span (at most {int.MaxValue}); read the tensor as floats (converted in chunks) instead.");
        if (_bytes is not null) return new ReadOnlySpan<byte>(_bytes, checked((int)offset), (int)count);
        return new ReadOnlySpan<byte>(_base + offset, (int)count);
    }

    /// <summary>
    /// Lines the file's tensors up with <paramref name="expected"/> keys and shapes: which are present with that
    /// shape, missing, of another shape, and which file keys nobody expected. Reads no tensor data.
    /// </summary>
    public KeyMatch Match(IEnumerable<(string Key, long[] Shape)> expected)
    {
        var matched = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, shape) in expected)
        {
            if (!seen.Add(key)) continue;
            if (!_byName.TryGetValue(key, out var info)) { missing.Add(key); continue; }
            if (!info.Shape.AsSpan().SequenceEqual(shape))
                mismatched.Add($"{key}: file [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", shape)}]");
            else matched.Add(key);
        }
        var unexpected = Tensors.Select(t => t.Name).Where(n => !seen.Contains(n)).ToList();
        return new KeyMatch(Path ?? "(memory)", matched, missing, unexpected, mismatched);
    }

    /// <summary>Unmaps the file. Zero-copy views from <see cref="GetFloatMemory"/> must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_base != null)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _base = null;
        }
        _view?.Dispose();
        _mmf?.Dispose();
    }

    // ------------------------------------------------------------------ header validation

    /// <summary>Parses and validates a whole file image; returns the tensors (by offset), metadata and the data start.</summary>
    internal static (List<SafetensorsTensorInfo>, Dictionary<string, string>, long) ParseHeader(ReadOnlySpan<byte> file, string? path) =>
        ParseHeader(file, file.Length, path);

    /// <summary>
    /// Parses and validates a file of <paramref name="fileLength"/> bytes from its beginning <paramref name="head"/>
    /// (at least the length field and the header, where the file has them).
    /// </summary>
    internal static (List<SafetensorsTensorInfo>, Dictionary<string, string>, long) ParseHeader(ReadOnlySpan<byte> head, long fileLength, string? path)
    {
        if (fileLength < 8)
            throw new SafetensorsException(SafetensorsRule.HeaderTooSmall, path, null, $"the file has {fileLength} bytes; at least 8 are needed for the header length.");
        ulong n = BitConverter.ToUInt64(head[..8]);
        if (n > MaxHeaderSize)
            throw new SafetensorsException(SafetensorsRule.HeaderTooLarge, path, null, $"the header claims {n} bytes; the limit is {MaxHeaderSize}.");
        if (8 + (long)n > fileLength)
            throw new SafetensorsException(SafetensorsRule.InvalidHeaderLength, path, null, $"the header claims {n} bytes but only {fileLength - 8} follow the length field.");
        var header = head.Slice(8, (int)n);
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header); }
        catch (DecoderFallbackException e)
        {
            throw new SafetensorsException(SafetensorsRule.InvalidHeader, path, null, $"the header is not valid UTF-8 (at byte {8 + e.Index}).");
        }
        if (text.Length == 0 || text[0] != '{')
            throw new SafetensorsException(SafetensorsRule.InvalidHeaderStart, path, null, "the header must start with '{'.");

        var tensors = new List<SafetensorsTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, null, "the header must be a JSON object.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Bad(path, prop.Name, "the key appears twice in the header.");
                if (prop.Name == "__metadata__")
                {
                    // The reference reader declares the field Option<HashMap<String, String>>: null is no metadata.
                    if (prop.Value.ValueKind == JsonValueKind.Null) continue;
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, null, "__metadata__ must be an object of strings (or null).");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, null, $"__metadata__ value of '{m.Name}' must be a string.");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                tensors.Add(ParseEntry(prop, path));
            }
        }
        catch (JsonException e)
        {
            throw Bad(path, null, $"the header is not valid JSON: {e.Message}");
        }

        // Validate in offset order, as the reference implementation does.
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long start = 0;
        foreach (var t in tensors)
        {
            if (t.Begin != start || t.End < t.Begin)
                throw new SafetensorsException(SafetensorsRule.InvalidOffset, path, t.Name,
                    $"data_offsets [{t.Begin}, {t.End}] must start at {start} (where the previous tensor ends) and not end before they begin.");
            start = t.End;
            ulong elements = 1;
            foreach (var d in t.Shape)
            {
                ulong next = elements * (ulong)d;
                if (d != 0 && next / (ulong)d != elements)
                    throw new SafetensorsException(SafetensorsRule.ValidationOverflow, path, t.Name, $"shape {string.Join("x", t.Shape)} overflows.");
                elements = next;
            }
            ulong bytes = elements * (ulong)t.DType.Size();
            if (elements != 0 && bytes / (ulong)t.DType.Size() != elements)
                throw new SafetensorsException(SafetensorsRule.ValidationOverflow, path, t.Name, $"shape {string.Join("x", t.Shape)} × {t.DType.Size()} bytes overflows.");
            if ((ulong)(t.End - t.Begin) != bytes)
                throw new SafetensorsException(SafetensorsRule.TensorInvalidInfo, path, t.Name,
                    $"{t.End - t.Begin} bytes of data for {t.DType} shape [{string.Join(", ", t.Shape)}], which needs {bytes}.");
        }
        long dataStart = 8 + (long)n;
        if (dataStart + start != fileLength)
            throw new SafetensorsException(SafetensorsRule.MetadataIncompleteBuffer, path, null,
                $"the tensors cover {start} bytes of data but the file has {fileLength - dataStart} after the header.");
        return (tensors, metadata, dataStart);
    }

    private static SafetensorsTensorInfo ParseEntry(JsonProperty prop, string? path)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, prop.Name, "each tensor entry must be an object.");
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in v.EnumerateObject())   // serde rejects a repeated field; JSON parsers would let the last one win
            if (!fields.Add(f.Name)) throw Bad(path, prop.Name, $"duplicate field \"{f.Name}\" in the tensor entry.");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String || !SafetensorsDTypes.TryParse(dt.GetString()!, out var dtype))
            throw Bad(path, prop.Name, $"missing or unknown dtype{(v.TryGetProperty("dtype", out var d2) ? $" {d2}" : "")}.");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw Bad(path, prop.Name, "missing shape array.");
        var shape = new List<long>();
        foreach (var e in sh.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetUInt64(out var dim) || dim > long.MaxValue)
                throw Bad(path, prop.Name, $"shape entry {e} is not a non-negative integer.");
            shape.Add((long)dim);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(path, prop.Name, "data_offsets must be an array of two integers.");
        var offs = new long[2];
        for (int i = 0; i < 2; i++)
        {
            var e = off[i];
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetUInt64(out var o) || o > long.MaxValue)
                throw Bad(path, prop.Name, $"data_offsets entry {e} is not a non-negative integer.");
            offs[i] = (long)o;
        }
        return new SafetensorsTensorInfo(prop.Name, dtype, shape.ToArray(), offs[0], offs[1]);
    }

    private static SafetensorsException Bad(string? path, string? key, string detail) =>
        new(SafetensorsRule.InvalidHeaderDeserialization, path, key, detail);

    /// <summary>Exposes native float memory (a mapped file region) as <see cref="Memory{T}"/>.</summary>
    private sealed class NativeFloatMemory(float* pointer, int length) : MemoryManager<float>
    {
        public override Span<float> GetSpan() => new(pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
