using System.Runtime.InteropServices;
using System.Text;
using LoraGen.IO;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// The safetensors reader and writer: layout, interop with a Python writer, every validation rule, atomic writes.
/// (Moved from LoraGen.Runtime.Tests with the code; Fixtures/formats.safetensors is made by
/// tests/LoraGen.Runtime.Tests/Fixtures/make_runtime_fixtures.py.)
/// </summary>
public class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SafetensorsEntry T(string name, float[] data, params long[] shape) => SafetensorsEntry.FromFloats(name, shape, data);

    private static float[] Randn(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return a;
    }

    private static string FormatsFixture => Path.Combine(AppContext.BaseDirectory, "Fixtures", "formats.safetensors");

    [Theory]
    [InlineData("attn.0", new long[] { 1, 2, 3 }, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", 64)]
    [InlineData("attn0", new long[] { 1, 1, 2, 3 }, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", 72)]
    public void WritesTheReferenceByteLayout(string name, long[] shape, string header, int headerLength)
    {
        var bytes = SafetensorsWriter.Serialize([T(name, [0f, 1f, 2f, 3f, 4f, 5f], shape)]);
        Assert.Equal((ulong)headerLength, BitConverter.ToUInt64(bytes, 0));     // JSON padded with spaces to a multiple of 8
        Assert.Equal(header, Encoding.UTF8.GetString(bytes, 8, headerLength));
        Assert.Equal(8 + headerLength + 24, bytes.Length);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + headerLength + 4));
    }

    [Fact]
    public void EmptyFileWithMetadataMatchesReference()
    {
        var bytes = SafetensorsWriter.Serialize([], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(bytes, 8, bytes.Length - 8));
        Assert.Equal(40UL, BitConverter.ToUInt64(bytes, 0));
    }

    [Fact]
    public void RoundTripIsBitIdenticalAndTensorsAreOrderedByName()
    {
        var rng = new Random(3);
        var tensors = new[] { T("z.weight", Randn(rng, 12), 1, 3, 4), T("a.bias", Randn(rng, 4), 1, 4), T("m", [float.NaN]) };
        var path = Path.Combine(_dir, "rt.safetensors");
        SafetensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v\n\"q\"" });
        var bytes = System.IO.File.ReadAllBytes(path);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(["a.bias", "m", "z.weight"], f.Tensors.Select(t => t.Name));
        Assert.Equal("v\n\"q\"", f.Metadata["k"]);
        Assert.Empty(f.Info("m").Shape);
        foreach (var t in tensors)
            Assert.Equal(MemoryMarshal.AsBytes(t.Floats.Span).ToArray(), f.RawBytes(t.Name).ToArray());
        var again = SafetensorsWriter.Serialize(f.Tensors.Select(i => SafetensorsEntry.FromFloats(i.Name, i.Shape, f.ReadFloats(i.Name))), f.Metadata);
        Assert.Equal(bytes, again);
        // Raw bytes written as they are give the same image, and Write(stream) the same bytes as Serialize.
        var raw = SafetensorsWriter.Serialize(f.Tensors.Select(i => SafetensorsEntry.FromBytes(i.Name, i.DType, i.Shape, f.RawBytes(i.Name).ToArray())), f.Metadata);
        Assert.Equal(bytes, raw);
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, tensors, f.Metadata);
        Assert.Equal(bytes, ms.ToArray());
    }

    [Fact]
    public void F32IsReadZeroCopyFromTheMapping()
    {
        var path = Path.Combine(_dir, "zc.safetensors");
        SafetensorsWriter.Save(path, [T("w", [1f, 2f, 3f, 4f], 2, 2)]);
        using var f = SafetensorsFile.Open(path);
        var view = f.GetFloatMemory("w");
        Assert.False(MemoryMarshal.TryGetArray<float>(view, out _));   // not a managed copy
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, view.ToArray());
        var copy = f.ReadFloats("w");
        Assert.Equal(view.ToArray(), copy);
        // Writing into the view is allowed and private: the file on disk keeps its bytes.
        var before = System.IO.File.ReadAllBytes(path);
        view.Span[0] = 99f;
        Assert.Equal(99f, f.GetFloatMemory("w").Span[0]);
        Assert.Equal(before, System.IO.File.ReadAllBytes(path));
        // An in-memory image hands out copies.
        using var mem = SafetensorsFile.FromBytes(before);
        Assert.True(MemoryMarshal.TryGetArray<float>(mem.GetFloatMemory("w"), out _));
    }

    [Fact]
    public void ReadsEveryDTypeAPythonWriterProduced()
    {
        using var f = SafetensorsFile.Open(FormatsFixture);
        var f32 = f.ReadFloats("f32");
        Assert.Equal(f.ReadFloats("f16.expected"), f.ReadFloats("f16"));
        Assert.Equal(f.ReadFloats("bf16.expected"), f.ReadFloats("bf16"));
        Assert.Equal(f32, f.ReadFloats("f64"));
        Assert.Equal(new[] { -3f, 0f, 7f, 1f, 2f, 3f }, f.ReadFloats("i64"));
        Assert.Equal(new[] { 0f, 1f, 255f }, f.ReadFloats("u8"));
        Assert.Empty(f.Info("scalar").Shape);
        Assert.Equal([2.5f], f.ReadFloats("scalar"));
        Assert.Equal("ünïcode ✓ \"quoted\"", f.Metadata["note"]);
        // Our BF16 writer rounds exactly as the Python fixture did, and F16 as numpy does.
        var shape = f.Info("f32").Shape;
        var ours = SafetensorsFile.FromBytes(SafetensorsWriter.Serialize(
            [SafetensorsEntry.FromFloats("bf16", shape, f32, SafetensorsDType.BF16), SafetensorsEntry.FromFloats("f16", shape, f32, SafetensorsDType.BF16)]));
        Assert.Equal(f.RawBytes("bf16").ToArray(), ours.RawBytes("bf16").ToArray());
        var half = SafetensorsFile.FromBytes(SafetensorsWriter.Serialize([SafetensorsEntry.FromFloats("f16", shape, f32, SafetensorsDType.F16)]));
        Assert.Equal(f.RawBytes("f16").ToArray(), half.RawBytes("f16").ToArray());
    }

    [Fact]
    public void MixedDTypesAreOrderedAsTheReferenceWriterDoes()
    {
        // The Python writer sorted these by descending dtype alignment, then by name; raw entries of every dtype
        // in any order must give the fixture back byte for byte.
        var original = System.IO.File.ReadAllBytes(FormatsFixture);
        using var f = SafetensorsFile.FromBytes(original, "formats");
        var entries = f.Tensors.Reverse().Select(i => SafetensorsEntry.FromBytes(i.Name, i.DType, i.Shape, f.RawBytes(i.Name).ToArray()));
        Assert.Equal(original, SafetensorsWriter.Serialize(entries, f.Metadata));
    }

    [Fact]
    public void EntriesCheckTheirDataAgainstTheShape()
    {
        Assert.Throws<ArgumentException>(() => SafetensorsEntry.FromFloats("w", [2L, 3L], new float[5]));
        Assert.Throws<ArgumentException>(() => SafetensorsEntry.FromBytes("w", SafetensorsDType.F16, [3L], new byte[4]));
        Assert.Throws<ArgumentException>(() => SafetensorsEntry.FromFloats("w", [-1L], new float[1]));
        Assert.Throws<NotSupportedException>(() => SafetensorsEntry.FromFloats("w", [1L], new float[1], SafetensorsDType.I64));
        var e = SafetensorsEntry.FromFloats("w", [2, 3], new float[6], SafetensorsDType.BF16);
        Assert.Equal(12, e.ByteLength);
        Assert.Equal(new long[] { 2, 3 }, e.Shape);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Serialize([SafetensorsEntry.FromFloats("__metadata__", [1L], new float[1])]));
    }

    [Fact]
    public void ReadIntoChecksTheDestinationLength()
    {
        using var f = SafetensorsFile.FromBytes(SafetensorsWriter.Serialize([T("w", new float[6], 2, 3)]), "x.safetensors");
        var ex = Assert.Throws<ArgumentException>(() => f.ReadInto("w", new float[5]));
        Assert.Contains("'w' has 6 elements ([2, 3]), the destination 5", ex.Message);
    }

    // ---------------------------------------------------------------- one test per validation rule

    private static byte[] File(string header, int dataBytes = 0, int trailing = 0)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes + trailing];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    private static SafetensorsException Bad(byte[] bytes, SafetensorsRule rule, string? key = null)
    {
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.FromBytes(bytes, "bad.safetensors"));
        Assert.Equal(rule, ex.Rule);
        Assert.Equal(key, ex.Key);
        Assert.StartsWith("bad.safetensors: " + rule, ex.Message);
        if (key is not null) Assert.Contains($"'{key}'", ex.Message);
        return ex;
    }

    [Fact] public void HeaderTooSmall() => Bad([1, 2, 3], SafetensorsRule.HeaderTooSmall);

    [Fact]
    public void HeaderTooLarge()
    {
        var bytes = new byte[16];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 100_000_001UL);
        Bad(bytes, SafetensorsRule.HeaderTooLarge);
    }

    [Fact]
    public void InvalidHeaderLength()
    {
        var bytes = File("{}");
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 50UL);
        Bad(bytes, SafetensorsRule.InvalidHeaderLength);
    }

    [Fact]
    public void InvalidHeaderUtf8()
    {
        var bytes = File("{\"a\":1}");
        bytes[10] = 0xFF;
        Bad(bytes, SafetensorsRule.InvalidHeader);
    }

    [Fact] public void InvalidHeaderStart() => Bad(File("[]"), SafetensorsRule.InvalidHeaderStart);
    [Fact] public void InvalidJson() => Bad(File("{\"a\":"), SafetensorsRule.InvalidHeaderDeserialization);
    [Fact] public void UnknownDType() => Bad(File("{\"w\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafetensorsRule.InvalidHeaderDeserialization, "w");
    [Fact] public void DuplicateKey() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafetensorsRule.InvalidHeaderDeserialization, "w");
    [Fact]
    public void NullMetadataIsNoMetadata()   // issue 19 item 4: the reference reader's field is optional
    {
        using var f = SafetensorsFile.FromBytes(File("{\"__metadata__\":null,\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Assert.Empty(f.Metadata);
        Assert.Equal(["w"], f.Tensors.Select(t => t.Name));
    }

    [Fact] public void MetadataNotAnObject() => Bad(File("{\"__metadata__\":[\"a\"]}"), SafetensorsRule.InvalidHeaderDeserialization);
    [Fact] public void MetadataValueNotString() => Bad(File("{\"__metadata__\":{\"a\":1}}"), SafetensorsRule.InvalidHeaderDeserialization);
    [Fact] public void NegativeShape() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), SafetensorsRule.InvalidHeaderDeserialization, "w");

    [Fact]
    public void OffsetsNotContiguous() => Bad(File(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12),
        SafetensorsRule.InvalidOffset, "b");

    [Fact]
    public void OffsetsOverlapping() => Bad(File(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
        SafetensorsRule.InvalidOffset, "b");

    [Fact] public void EndBeforeBeginIsInvalidOffset() => Bad(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,2]}}", 4), SafetensorsRule.InvalidOffset, "b");

    [Fact] public void ShapeOverflow() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4), SafetensorsRule.ValidationOverflow, "w");

    [Fact] public void SizeDoesNotMatchDTypeAndShape() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), SafetensorsRule.TensorInvalidInfo, "w");

    [Fact] public void TrailingBytes() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, trailing: 3), SafetensorsRule.MetadataIncompleteBuffer);

    [Fact] public void MissingBytes() => Bad(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), SafetensorsRule.MetadataIncompleteBuffer);

    [Fact]
    public void TensorNotFoundNamesTheKey()
    {
        var f = SafetensorsFile.FromBytes(SafetensorsWriter.Serialize([T("w", [0f], 1)]), "x.safetensors");
        var ex = Assert.Throws<SafetensorsException>(() => f.ReadFloats("nope"));
        Assert.Equal(SafetensorsRule.TensorNotFound, ex.Rule);
        Assert.Equal("nope", ex.Key);
    }

    [Fact]
    public void OpenNamesTheFilePath()
    {
        var path = Path.Combine(_dir, "short.safetensors");
        System.IO.File.WriteAllBytes(path, [1, 2]);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, ex.Path);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void OpenValidatesAMappedFileLikeAnImage()
    {
        // The mapped reader sees only the length field and header up front; the rules on the data still hold.
        var path = Path.Combine(_dir, "trailing.safetensors");
        System.IO.File.WriteAllBytes(path, File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, trailing: 3));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Equal(SafetensorsRule.MetadataIncompleteBuffer, ex.Rule);
    }

    // ---------------------------------------------------------------- atomic writes

    [Fact]
    public void AFailedWriteLeavesTheOldFileAndNoTempFile()
    {
        var path = Path.Combine(_dir, "keep.safetensors");
        SafetensorsWriter.Save(path, [T("w", [1f, 1f, 1f], 3)]);
        var before = System.IO.File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new InvalidOperationException("disk full (simulated)");
        }));
        Assert.Equal(before, System.IO.File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Save(path, [T("a", [1f], 1), T("a", [1f], 1)]));
        Assert.Equal(before, System.IO.File.ReadAllBytes(path));
    }

    [Fact]
    public void FlushingAFolderWorks()
    {
        DirectorySync.Flush(_dir);                                   // no exception on a real folder
        DirectorySync.Flush(Path.Combine(_dir, "does-not-exist"));   // best effort: nothing to do
    }
}
