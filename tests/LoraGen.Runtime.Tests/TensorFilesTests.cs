using System.Runtime.InteropServices;
using System.Text;
using LoraGen.Ops;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// Tensors through the PEFT unit's safetensors reader and writer (<see cref="TensorFiles"/>): layout, zero-copy views,
/// dtype conversion against a Python writer. The format's validation rules are tested in LoraGen.Peft.Tests.
/// </summary>
public class TensorFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static KeyValuePair<string, Tensor> T(string name, Tensor t) => KeyValuePair.Create(name, t);

    [Theory]
    [InlineData("attn.0", new[] { 1, 2, 3 }, "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", 64)]
    [InlineData("attn0", new[] { 1, 1, 2, 3 }, "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ", 72)]
    public void WritesTheReferenceByteLayout(string name, int[] shape, string header, int headerLength)
    {
        var bytes = TensorFiles.Serialize([T(name, Tensor.FromArray([0f, 1f, 2f, 3f, 4f, 5f], shape))]);
        Assert.Equal((ulong)headerLength, BitConverter.ToUInt64(bytes, 0));     // JSON padded with spaces to a multiple of 8
        Assert.Equal(header, Encoding.UTF8.GetString(bytes, 8, headerLength));
        Assert.Equal(8 + headerLength + 24, bytes.Length);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + headerLength + 4));
    }

    [Fact]
    public void EmptyFileWithMetadataMatchesReference()
    {
        var bytes = TensorFiles.Serialize([], new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", Encoding.UTF8.GetString(bytes, 8, bytes.Length - 8));
        Assert.Equal(40UL, BitConverter.ToUInt64(bytes, 0));
    }

    [Fact]
    public void RoundTripIsBitIdenticalAndTensorsAreOrderedByName()
    {
        var rng = new Rng(3);
        var tensors = new[] { T("z.weight", Tensor.Randn(rng, 1, 3, 4)), T("a.bias", Tensor.Randn(rng, 1, 4)), T("m", Tensor.Scalar(float.NaN)) };
        var path = Path.Combine(_dir, "rt.safetensors");
        TensorFiles.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v\n\"q\"" });
        var bytes = System.IO.File.ReadAllBytes(path);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(["a.bias", "m", "z.weight"], f.Tensors.Select(t => t.Name));
        Assert.Equal("v\n\"q\"", f.Metadata["k"]);
        foreach (var (name, t) in tensors)
            Assert.Equal(MemoryMarshal.AsBytes(t.Data).ToArray(), f.RawBytes(name).ToArray());
        var again = TensorFiles.Serialize(f.Tensors.Select(i => T(i.Name, f.LoadTensor(i.Name))), f.Metadata);
        Assert.Equal(bytes, again);
    }

    [Fact]
    public void F32IsReadZeroCopyFromTheMapping()
    {
        var path = Path.Combine(_dir, "zc.safetensors");
        TensorFiles.Save(path, [T("w", Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2))]);
        using var f = SafetensorsFile.Open(path);
        var view = f.GetTensor("w");
        Assert.False(MemoryMarshal.TryGetArray<float>(view.Storage, out _));   // not a managed copy
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, view.ToArray());
        var copy = f.LoadTensor("w");
        Assert.True(MemoryMarshal.TryGetArray<float>(copy.Storage, out _));
        // Writing into the view is allowed and private: the file on disk keeps its bytes.
        var before = System.IO.File.ReadAllBytes(path);
        view.Data[0] = 99f;
        Assert.Equal(99f, f.GetTensor("w").Data[0]);
        Assert.Equal(before, System.IO.File.ReadAllBytes(path));
    }

    [Fact]
    public void ReadsEveryDTypeAPythonWriterProduced()
    {
        using var f = SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "formats.safetensors"));
        var f32 = f.LoadTensor("f32");
        Assert.Equal(f.LoadTensor("f16.expected").ToArray(), f.LoadTensor("f16").ToArray());
        Assert.Equal(f.LoadTensor("bf16.expected").ToArray(), f.LoadTensor("bf16").ToArray());
        Assert.Equal(f32.ToArray(), f.LoadTensor("f64").ToArray());
        Assert.Equal(new[] { -3f, 0f, 7f, 1f, 2f, 3f }, f.LoadTensor("i64").ToArray());
        Assert.Equal(new[] { 0f, 1f, 255f }, f.LoadTensor("u8").ToArray());
        Assert.Equal(0, f.LoadTensor("scalar").Rank);
        Assert.Equal("ünïcode ✓ \"quoted\"", f.Metadata["note"]);
        // Our BF16 writer rounds exactly as the Python fixture did, and F16 as numpy does.
        var ours = SafetensorsFile.FromBytes(TensorFiles.Serialize([T("bf16", f32), T("f16", f32)], dtype: SafetensorsDType.BF16));
        Assert.Equal(f.RawBytes("bf16").ToArray(), ours.RawBytes("bf16").ToArray());
        var half = SafetensorsFile.FromBytes(TensorFiles.Serialize([T("f16", f32)], dtype: SafetensorsDType.F16));
        Assert.Equal(f.RawBytes("f16").ToArray(), half.RawBytes("f16").ToArray());
    }
}
