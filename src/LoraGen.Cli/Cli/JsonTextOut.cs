using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoraGen.Cli;

/// <summary>
/// A stream for a <see cref="Utf8JsonWriter"/> that hands each flushed chunk (the writer flushes once, on dispose)
/// to a text writer, followed by a newline: <c>using var w = JsonTextOut.Create(output);</c>.
/// </summary>
internal sealed class JsonTextOut(TextWriter target) : Stream
{
    private readonly MemoryStream _buffer = new();

    public static Utf8JsonWriter Create(TextWriter target) =>
        new(new JsonTextOut(target), new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _buffer.Length;
    public override long Position { get => _buffer.Position; set => throw new NotSupportedException(); }

    public override void Flush()
    {
        if (_buffer.Length == 0) return;
        target.WriteLine(Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
        target.Flush();
        _buffer.SetLength(0);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => _buffer.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _buffer.Write(buffer);
}
