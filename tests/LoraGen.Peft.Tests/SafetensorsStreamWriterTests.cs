using System.Security.Cryptography;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// The streaming writer and <see cref="SafetensorsWriter"/> share one header builder: the same tensors give the
/// same bytes as before the writer was split (SHA-256 pinned from the writer as it was), however they are written.
/// </summary>
public class SafetensorsStreamWriterTests
{
    /// <summary>SHA-256 of <see cref="SafetensorsWriter.Serialize"/>'s image of <see cref="Mixed"/>, taken from the writer before the split.</summary>
    private const string MixedSha256 = "6d73792db7a869c8731553baf6488168a02116f4193792f05ed7075b69d46bc6";

    private static float[] Ramp(int n, float scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (i - n / 2) * scale + 1e-3f * i * i;
        return a;
    }

    /// <summary>Every dtype order case: F32, F16, BF16 from floats, raw I64 and U8, non-ASCII and escaped names and metadata.</summary>
    private static List<SafetensorsEntry> Mixed() =>
    [
        SafetensorsEntry.FromFloats("model.layers.1.q_proj.weight", [3L, 5L], Ramp(15, 0.37f), SafetensorsDType.BF16),
        SafetensorsEntry.FromFloats("model.layers.0.q_proj.weight", [3L, 5L], Ramp(15, 0.11f), SafetensorsDType.F16),
        SafetensorsEntry.FromFloats("zé\"\\tab\t", [2L], new[] { 1.5f, -2.25f }),
        SafetensorsEntry.FromFloats("a", Array.Empty<long>(), new[] { 7f }),
        SafetensorsEntry.FromBytes("ids", SafetensorsDType.I64, [2L], new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 }),
        SafetensorsEntry.FromBytes("mask", SafetensorsDType.U8, [3L], new byte[] { 1, 0, 1 }),
        SafetensorsEntry.FromFloats("empty", [0L, 4L], Array.Empty<float>(), SafetensorsDType.BF16),
    ];

    private static readonly Dictionary<string, string> Metadata = new() { ["format"] = "pt", ["ünï"] = "c\"o\nde", ["Z"] = "" };

    private static string Sha(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    [Fact]
    public void SerializeIsByteIdenticalToTheWriterBeforeTheSplit()
    {
        Assert.Equal(MixedSha256, Sha(SafetensorsWriter.Serialize(Mixed(), Metadata)));
    }

    [Fact]
    public void StreamingInPiecesGivesTheSameBytesAsSerialize()
    {
        var entries = Mixed();
        var expected = SafetensorsWriter.Serialize(entries, Metadata);
        var writer = new SafetensorsStreamWriter(entries.Select(e => (e.Name, e.DType, e.Shape)), Metadata);
        Assert.Equal(expected.Length, writer.FileLength);
        using var ms = new MemoryStream();
        writer.Begin(ms);
        foreach (var name in writer.Order)
        {
            var e = entries.Single(x => x.Name == name);
            if (e.ByteLength > 0) Assert.Equal(name, writer.Current);   // empty tensors are skipped over
            if (e.IsRaw)
                foreach (var b in e.Bytes.ToArray()) writer.WriteBytes([b]);     // a byte at a time
            else
                for (int i = 0; i < e.Floats.Length; i += 4) writer.WriteFloats(e.Floats.Span[i..Math.Min(i + 4, e.Floats.Length)]);
        }
        writer.Complete();
        Assert.Null(writer.Current);
        Assert.Equal(expected, ms.ToArray());
    }

    [Fact]
    public void KeepOrderLaysTheDataOutAsGivenAndReadsBack()
    {
        (string, SafetensorsDType, long[])[] specs = [("z", SafetensorsDType.F16, [2L]), ("a", SafetensorsDType.F32, [2L])];
        var writer = new SafetensorsStreamWriter(specs, keepOrder: true);
        Assert.Equal(["z", "a"], writer.Order);
        using var ms = new MemoryStream();
        writer.Begin(ms);
        writer.WriteFloats([1f, 2f]);
        writer.WriteFloats([3f, 4f]);
        writer.Complete();
        using var f = SafetensorsFile.FromBytes(ms.ToArray(), "x.safetensors");
        Assert.Equal(new[] { 1f, 2f }, f.ReadFloats("z"));
        Assert.Equal(new[] { 3f, 4f }, f.ReadFloats("a"));
        Assert.True(f.Info("z").Begin < f.Info("a").Begin);
    }

    [Fact]
    public void RefusesTooLittleTooMuchAndBadNames()
    {
        var writer = new SafetensorsStreamWriter([("w", SafetensorsDType.F32, [2L])]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteFloats([1f]));     // before Begin
        writer.Begin(new MemoryStream());
        writer.WriteFloats([1f]);
        Assert.Contains("'w' is missing 4 of 8 bytes", Assert.Throws<InvalidOperationException>(writer.Complete).Message);
        writer.WriteFloats([2f]);
        Assert.Throws<InvalidOperationException>(() => writer.WriteFloats([3f]));
        Assert.Throws<ArgumentException>(() => new SafetensorsStreamWriter([("w", SafetensorsDType.F32, [1L]), ("w", SafetensorsDType.F16, [1L])]));
        Assert.Throws<ArgumentException>(() => new SafetensorsStreamWriter([("__metadata__", SafetensorsDType.F32, [1L])]));
    }

    [Theory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.F16)]
    [InlineData(SafetensorsDType.BF16)]
    [InlineData(SafetensorsDType.F64)]
    public void PublicConversionsMatchTheFileReader(SafetensorsDType dtype)
    {
        var src = Ramp(37, 0.173f);
        var bytes = new byte[src.Length * dtype.Size()];
        SafetensorsDTypes.FromFloat(dtype, src, bytes);
        var back = new float[src.Length];
        SafetensorsDTypes.ToFloat(dtype, bytes, back);
        var writer = new SafetensorsStreamWriter([("t", dtype, [37L])]);
        using var ms = new MemoryStream();
        writer.Begin(ms);
        writer.WriteBytes(bytes);
        using var f = SafetensorsFile.FromBytes(ms.ToArray(), "x.safetensors");
        Assert.Equal(f.ReadFloats("t"), back);
        double tol = dtype switch { SafetensorsDType.BF16 => 1.0 / 256, SafetensorsDType.F16 => 1.0 / 2048, _ => 0 };
        for (int i = 0; i < src.Length; i++) Assert.True(Math.Abs(back[i] - src[i]) <= tol * Math.Abs(src[i]), $"{dtype}[{i}]: {back[i]} vs {src[i]}");
        if (dtype != SafetensorsDType.F64)   // the entry path (F32/F16/BF16) writes the same bytes
            Assert.Equal(bytes, f.RawBytes("t").ToArray());
        Assert.Throws<ArgumentException>(() => SafetensorsDTypes.FromFloat(dtype, src, new byte[bytes.Length - 1]));
    }
}
