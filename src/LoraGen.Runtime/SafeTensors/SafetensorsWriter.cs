using System.Text;
using LoraGen.IO;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.SafeTensors;

/// <summary>
/// Writes safetensors files the way the reference writer does: tensors ordered by descending dtype alignment
/// then by name (byte-wise), compact JSON header with <c>__metadata__</c> first, padded with spaces to a multiple
/// of 8, data contiguous. Files are written atomically (temp file + rename).
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Serializes <paramref name="tensors"/> to a safetensors image, converting to <paramref name="dtype"/> (F32, F16 or BF16).</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        var (header, ordered) = Prepare(tensors, metadata, dtype);
        long dataBytes = ordered.Sum(t => (long)t.Value.Size * dtype.Size());
        var buffer = new byte[checked(8 + header.Length + dataBytes)];
        BitConverter.TryWriteBytes(buffer.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(buffer.AsSpan(8));
        long o = 8 + header.Length;
        foreach (var (_, t) in ordered)
        {
            int n = t.Size * dtype.Size();
            SafetensorsDTypes.FromFloat(dtype, t.Data, buffer.AsSpan(checked((int)o), n));
            o += n;
        }
        return buffer;
    }

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        var (header, ordered) = Prepare(tensors, metadata, dtype);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            var chunk = new byte[1 << 20];
            foreach (var (_, t) in ordered)
            {
                var data = t.Data;
                int per = chunk.Length / dtype.Size();
                for (int i = 0; i < data.Length; i += per)
                {
                    int n = Math.Min(per, data.Length - i);
                    SafetensorsDTypes.FromFloat(dtype, data.Slice(i, n), chunk);
                    stream.Write(chunk, 0, n * dtype.Size());
                }
            }
        });
    }

    private static (byte[] Header, List<KeyValuePair<string, Tensor>> Ordered) Prepare(
        IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata, SafetensorsDType dtype)
    {
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16))
            throw new NotSupportedException($"safetensors: writing {dtype} is not supported; use F32, F16 or BF16.");
        var ordered = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in ordered)
        {
            if (kv.Key == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' cannot be a tensor name.");
            if (!names.Add(kv.Key)) throw new ArgumentException($"safetensors: tensor name '{kv.Key}' is given twice.");
        }
        // One dtype for the whole file, so the order is by name, compared as UTF-8 bytes.
        ordered.Sort((a, b) => Utf8Compare(a.Key, b.Key));

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
        foreach (var (name, t) in ordered)
        {
            long n = (long)t.Size * dtype.Size();
            AppendString(json, name);
            json.Append(":{\"dtype\":\"").Append(dtype).Append("\",\"shape\":[");
            for (int i = 0; i < t.Rank; i++)
            {
                if (i > 0) json.Append(',');
                json.Append(t.Shape[i]);
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
        return (header, ordered);
    }

    private static int Utf8Compare(string? a, string? b) =>
        Encoding.UTF8.GetBytes(a ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b ?? ""));

    /// <summary>JSON string escaping as serde_json writes it: quote, backslash and control characters only.</summary>
    internal static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("x2"));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
