using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>
/// Streaming reads of safetensors data without mapping it: a tensor's bytes are read from a plain file stream in
/// chunks, so a merge, convert or diff holds about one chunk (plus the adapter) in memory. Files are opened and
/// checked by <see cref="SafetensorsFile"/> and written by <see cref="SafetensorsStreamWriter"/> (the PEFT unit).
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

    /// <summary>Hands a tensor's bytes to <paramref name="write"/> unchanged, in chunks.</summary>
    public void CopyTo(SafetensorsTensorInfo info, Action<ReadOnlySpan<byte>> write, byte[] chunk, Action<long> progress)
    {
        long done = 0, n = info.ByteLength;
        while (done < n)
        {
            int c = (int)Math.Min(chunk.Length, n - done);
            Read(info, done, chunk.AsSpan(0, c));
            write(chunk.AsSpan(0, c));
            done += c;
            progress(c);
        }
    }

    /// <summary>Copies a tensor's bytes to <paramref name="output"/> unchanged, in chunks.</summary>
    public void CopyTo(SafetensorsTensorInfo info, Stream output, byte[] chunk, Action<long> progress) =>
        CopyTo(info, span => output.Write(span), chunk, progress);

    public void Dispose() => _stream.Dispose();
}
