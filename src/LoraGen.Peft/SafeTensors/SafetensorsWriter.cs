using LoraGen.IO;

namespace LoraGen.SafeTensors;

/// <summary>
/// Writes safetensors files the way the reference writer does: tensors ordered by descending dtype alignment
/// (<see cref="SafetensorsDType"/> order) then by name (byte-wise), compact JSON header with <c>__metadata__</c>
/// first, padded with spaces to a multiple of 8, data contiguous. <see cref="Save"/> writes atomically
/// (temporary file, flushed to disk, renamed over the destination). The header comes from
/// <see cref="SafetensorsStreamWriter"/>, which writes the same layout one tensor at a time.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Serializes <paramref name="tensors"/> (and <paramref name="metadata"/>, if any) to a safetensors image.</summary>
    public static byte[] Serialize(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (writer, byName) = Prepare(tensors, metadata);
        var buffer = new byte[checked((int)writer.FileLength)];
        using var stream = new MemoryStream(buffer, writable: true);
        WriteData(stream, writer, byName);
        return buffer;
    }

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically: on failure the old file is untouched.</summary>
    public static void Save(string path, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (writer, byName) = Prepare(tensors, metadata);
        AtomicFile.Write(path, stream => WriteData(stream, writer, byName));
    }

    /// <summary>Writes the safetensors image of <paramref name="tensors"/> to <paramref name="stream"/> (the bytes <see cref="Serialize"/> returns).</summary>
    public static void Write(Stream stream, IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (writer, byName) = Prepare(tensors, metadata);
        WriteData(stream, writer, byName);
    }

    private static void WriteData(Stream stream, SafetensorsStreamWriter writer, Dictionary<string, SafetensorsEntry> byName)
    {
        writer.Begin(stream);
        foreach (var name in writer.Order)
        {
            var t = byName[name];
            if (t.IsRaw) writer.WriteBytes(t.Bytes.Span);
            else writer.WriteFloats(t.Floats.Span);
        }
        writer.Complete();
    }

    private static (SafetensorsStreamWriter Writer, Dictionary<string, SafetensorsEntry> ByName) Prepare(IEnumerable<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        foreach (var t in list) ArgumentNullException.ThrowIfNull(t, nameof(tensors));
        var writer = new SafetensorsStreamWriter(list.Select(t => (t.Name, t.DType, t.Shape)), metadata);
        var byName = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        foreach (var t in list) byName[t.Name] = t;
        return (writer, byName);
    }
}
