using System.Text;

namespace LoraGen.SafeTensors;

/// <summary>
/// Writes a safetensors file one tensor at a time: the names, dtypes and shapes are given up front and fix the
/// header (the reference layout: descending dtype, then name as UTF-8 bytes, unless <c>keepOrder</c>; compact JSON,
/// <c>__metadata__</c> first, spaces to a multiple of 8); then <see cref="Begin"/> writes the header and
/// <see cref="WriteBytes"/>/<see cref="WriteFloats"/> append each tensor's data, in <see cref="Order"/>, in as many
/// pieces as the caller likes. <see cref="SafetensorsWriter"/> writes through this type, so both give the same bytes.
/// </summary>
public sealed class SafetensorsStreamWriter
{
    private readonly (string Name, SafetensorsDType DType, long Bytes)[] _tensors;
    private readonly byte[] _header;
    private Stream? _stream;
    private int _index;
    private long _written;
    private byte[]? _chunk;

    /// <summary>Lays out a file of <paramref name="tensors"/> (data not yet given) and <paramref name="metadata"/>.</summary>
    /// <param name="tensors">Each tensor's name, stored dtype and shape.</param>
    /// <param name="metadata">The <c>__metadata__</c> entries, if any.</param>
    /// <param name="keepOrder">Lay the data out in the given order (e.g. a base checkpoint's own) instead of the reference order.</param>
    public SafetensorsStreamWriter(IEnumerable<(string Name, SafetensorsDType DType, long[] Shape)> tensors, IReadOnlyDictionary<string, string>? metadata = null, bool keepOrder = false)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _, shape) in list)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(tensors));
            ArgumentNullException.ThrowIfNull(shape, nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' cannot be a tensor name.");
            if (!names.Add(name)) throw new ArgumentException($"safetensors: tensor name '{name}' is given twice.");
        }
        // The reference order: larger alignment (later dtype) first, then by name compared as UTF-8 bytes.
        if (!keepOrder) list.Sort((a, b) => a.DType != b.DType ? b.DType.CompareTo(a.DType) : Utf8Compare(a.Name, b.Name));
        _tensors = list.Select(t => (t.Name, t.DType, ByteLength(t.Name, t.DType, t.Shape))).ToArray();
        _header = BuildHeader(list, metadata);
        Order = Array.AsReadOnly(_tensors.Select(t => t.Name).ToArray());
        FileLength = 8 + _header.Length + _tensors.Sum(t => t.Bytes);
    }

    /// <summary>The tensors' names in file order: the order their data must be written in.</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>The size of the whole file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>The tensor whose data comes next, or null when every tensor is complete.</summary>
    public string? Current
    {
        get
        {
            SkipEmpty();
            return _index < _tensors.Length ? _tensors[_index].Name : null;
        }
    }

    /// <summary>Writes the length field and header to <paramref name="stream"/>; the data follows through <see cref="WriteBytes"/>/<see cref="WriteFloats"/>.</summary>
    public void Begin(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (_stream is not null) throw new InvalidOperationException("safetensors: the header is already written.");
        _stream = stream;
        Span<byte> len = stackalloc byte[8];
        BitConverter.TryWriteBytes(len, (ulong)_header.Length);
        stream.Write(len);
        stream.Write(_header);
    }

    /// <summary>Appends raw little-endian bytes of the current tensor's dtype; the next tensor starts once it is full.</summary>
    public void WriteBytes(ReadOnlySpan<byte> data)
    {
        var stream = Started();
        while (!data.IsEmpty)
        {
            int n = (int)Math.Min(data.Length, Remaining());
            stream.Write(data[..n]);
            Advance(n);
            data = data[n..];
        }
    }

    /// <summary>Appends float32 elements, converted to the current tensor's dtype (F32, F16, BF16 or F64; see <see cref="SafetensorsDTypes.FromFloat"/>).</summary>
    public void WriteFloats(ReadOnlySpan<float> data)
    {
        var stream = Started();
        while (!data.IsEmpty)
        {
            long left = Remaining();
            var dtype = _tensors[_index].DType;
            int size = dtype.Size();
            _chunk ??= new byte[1 << 20];
            int n = (int)Math.Min(Math.Min(data.Length, _chunk.Length / size), left / size);
            if (n == 0) throw new ArgumentException($"safetensors: tensor '{_tensors[_index].Name}' has a partial element left; write it as bytes.");
            SafetensorsDTypes.FromFloat(dtype, data[..n], _chunk);
            stream.Write(_chunk, 0, n * size);
            Advance(n * size);
            data = data[n..];
        }
    }

    /// <summary>Checks that every tensor's data was written in full.</summary>
    public void Complete()
    {
        Started();
        if (Current is { } name)
            throw new InvalidOperationException($"safetensors: tensor '{name}' is missing {Remaining()} of {_tensors[_index].Bytes} bytes.");
    }

    private Stream Started() => _stream ?? throw new InvalidOperationException("safetensors: call Begin before writing data.");

    private long Remaining()
    {
        SkipEmpty();
        if (_index >= _tensors.Length) throw new InvalidOperationException("safetensors: more data than the header's tensors hold.");
        return _tensors[_index].Bytes - _written;
    }

    private void Advance(long n)
    {
        _written += n;
        SkipEmpty();
    }

    private void SkipEmpty()
    {
        while (_index < _tensors.Length && _written == _tensors[_index].Bytes)
        {
            _index++;
            _written = 0;
        }
    }

    private static long ByteLength(string name, SafetensorsDType dtype, long[] shape)
    {
        long n = dtype.Size();
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"safetensors: tensor '{name}' has a negative dimension in {SafetensorsDTypes.FormatShape(shape)}.");
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>The header JSON for tensors laid out contiguously in the given order, padded with spaces to a multiple of 8 (no length field).</summary>
    private static byte[] BuildHeader(List<(string Name, SafetensorsDType DType, long[] Shape)> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder("{");
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            bool first = true;
            foreach (var key in metadata.Keys.OrderBy(k => k, Comparer<string>.Create(Utf8Compare)))
            {
                if (!first) json.Append(',');
                first = false;
                AppendString(json, key);
                json.Append(':');
                AppendString(json, metadata[key]);
            }
            json.Append("},");
        }
        long offset = 0;
        foreach (var (name, dtype, shape) in ordered)
        {
            long n = ByteLength(name, dtype, shape);
            AppendString(json, name);
            json.Append(":{\"dtype\":\"").Append(dtype).Append("\",\"shape\":[");
            for (int i = 0; i < shape.Length; i++)
            {
                if (i > 0) json.Append(',');
                json.Append(shape[i]);
            }
            json.Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + n).Append("]},");
            offset += n;
        }
        if (json[^1] == ',') json.Length--;
        json.Append('}');
        var bytes = Encoding.UTF8.GetBytes(json.ToString());
        int pad = (8 - bytes.Length % 8) % 8;
        var header = new byte[bytes.Length + pad];
        bytes.CopyTo(header, 0);
        header.AsSpan(bytes.Length).Fill((byte)' ');
        return header;
    }

    private static int Utf8Compare(string? a, string? b) =>
        Encoding.UTF8.GetBytes(a ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b ?? ""));

    /// <summary>JSON string escaping as serde_json writes it: quote, backslash and control characters only.</summary>
    private static void AppendString(StringBuilder sb, string s) => JsonStrings.Append(sb, s, escapeNonAscii: false);
}
