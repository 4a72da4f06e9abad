using System.Text.Json;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>
/// Streaming access to safetensors data without mapping it: a tensor's bytes are read from and written to plain
/// file streams in chunks, so a merge or convert holds about one chunk (plus the adapter) in memory.
/// </summary>
internal sealed class TensorStream : IDisposable
{
    private readonly FileStream _stream;

    public TensorStream(SafetensorsFile file)
    {
        File = file;
        _stream = new FileStream(file.Path!, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        Span<byte> len = stackalloc byte[8];
        _stream.ReadExactly(len);
        DataStart = 8 + (long)BitConverter.ToUInt64(len);
    }

    public SafetensorsFile File { get; }

    /// <summary>Where the data section begins (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>The file's header bytes (length field included), verbatim.</summary>
    public byte[] HeaderBytes()
    {
        var h = new byte[DataStart];
        _stream.Position = 0;
        _stream.ReadExactly(h);
        return h;
    }

    /// <summary>Reads <paramref name="dst"/>.Length bytes of tensor <paramref name="info"/> from byte <paramref name="offset"/> within it.</summary>
    public void Read(SafetensorsTensorInfo info, long offset, Span<byte> dst)
    {
        _stream.Position = DataStart + info.Begin + offset;
        _stream.ReadExactly(dst);
    }

    /// <summary>Copies a tensor's bytes to <paramref name="output"/> unchanged, in chunks.</summary>
    public void CopyTo(SafetensorsTensorInfo info, Stream output, byte[] chunk, Action<long> progress)
    {
        long done = 0, n = info.ByteLength;
        while (done < n)
        {
            int c = (int)Math.Min(chunk.Length, n - done);
            Read(info, done, chunk.AsSpan(0, c));
            output.Write(chunk, 0, c);
            done += c;
            progress(c);
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// A safetensors header for tensors laid out in the given order (contiguous), as the reference writer formats
    /// it: compact JSON, <c>__metadata__</c> first, spaces to a multiple of 8; length field included.
    /// </summary>
    public static byte[] BuildHeader(IEnumerable<(string Name, SafetensorsDType DType, long[] Shape)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape) in tensors)
            {
                long bytes = shape.Aggregate(1L, (a, b) => a * b) * dtype.Size();
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype.ToString());
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        var json = ms.ToArray();
        int pad = (8 - json.Length % 8) % 8;
        var header = new byte[8 + json.Length + pad];
        BitConverter.TryWriteBytes(header.AsSpan(0, 8), (ulong)(json.Length + pad));
        json.CopyTo(header, 8);
        header.AsSpan(8 + json.Length).Fill((byte)' ');
        return header;
    }
}
