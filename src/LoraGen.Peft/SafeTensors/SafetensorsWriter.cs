using System.Text;
using LoraGen.IO;

namespace LoraGen.SafeTensors;

/// <summary>
/// Writes safetensors files the way the reference writer does: tensors ordered by descending dtype alignment
/// (<see cref="SafetensorsDType"/> order) then by name (byte-wise), compact JSON header with <c>__metadata__</c>
/// first, padded with spaces to a multiple of 8, data contiguous. <see cref="Save"/> writes atomically
/// (temporary file, flushed to disk, renamed over the destination).
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Serializes <paramref name="tensors"/> (and <paramref name="metadata"/>, if any) to a safetensors image.</summary>
    public static byte[] Serialize(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, ordered) = Prepare(tensors, metadata);
        long dataBytes = ordered.Sum(t => t.ByteLength);
        var buffer = new byte[checked(8 + header.Length + dataBytes)];
        BitConverter.TryWriteBytes(buffer.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(buffer.AsSpan(8));
        long o = 8 + header.Length;
        foreach (var t in ordered)
        {
            int n = checked((int)t.ByteLength);
            var dst = buffer.AsSpan(checked((int)o), n);
            if (t.IsRaw) t.Bytes.Span.CopyTo(dst);
            else SafetensorsDTypes.FromFloat(t.DType, t.Floats.Span, dst);
            o += n;
        }
        return buffer;
    }

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically: on failure the old file is untouched.</summary>
    public static void Save(string path, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, ordered) = Prepare(tensors, metadata);
        AtomicFile.Write(path, stream => WriteData(stream, header, ordered));
    }

    /// <summary>Writes the safetensors image of <paramref name="tensors"/> to <paramref name="stream"/> (the bytes <see cref="Serialize"/> returns).</summary>
    public static void Write(Stream stream, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, ordered) = Prepare(tensors, metadata);
        WriteData(stream, header, ordered);
    }

    private static void WriteData(Stream stream, byte[] header, List<SafetensorsEntry> ordered)
    {
        Span<byte> len = stackalloc byte[8];
        BitConverter.TryWriteBytes(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);
        byte[]? chunk = null;
        foreach (var t in ordered)
        {
            if (t.IsRaw)
            {
                stream.Write(t.Bytes.Span);
                continue;
            }
            chunk ??= new byte[1 << 20];
            int size = t.DType.Size();
            int per = chunk.Length / size;
            var data = t.Floats;
            for (int i = 0; i < data.Length; i += per)
            {
                int n = Math.Min(per, data.Length - i);
                SafetensorsDTypes.FromFloat(t.DType, data.Span.Slice(i, n), chunk);
                stream.Write(chunk, 0, n * size);
            }
        }
    }

    private static (byte[] Header, List<SafetensorsEntry> Ordered) Prepare(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in ordered)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (t.Name == "__metadata__") throw new ArgumentException("safetensors: '__metadata__' cannot be a tensor name.");
            if (!names.Add(t.Name)) throw new ArgumentException($"safetensors: tensor name '{t.Name}' is given twice.");
        }
        // The reference order: larger alignment (later dtype) first, then by name compared as UTF-8 bytes.
        ordered.Sort((a, b) => a.DType != b.DType ? b.DType.CompareTo(a.DType) : Utf8Compare(a.Name, b.Name));

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
        foreach (var t in ordered)
        {
            long n = t.ByteLength;
            AppendString(json, t.Name);
            json.Append(":{\"dtype\":\"").Append(t.DType).Append("\",\"shape\":[");
            for (int i = 0; i < t.Shape.Length; i++)
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
    internal static void AppendString(StringBuilder sb, string s) => JsonStrings.Append(sb, s, escapeNonAscii: false);
}
