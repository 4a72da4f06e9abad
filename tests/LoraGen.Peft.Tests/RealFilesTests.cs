using System.Diagnostics;
using System.Text;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// Issue 17 items 1–5: files as they exist in the wild — symbolic links, files over 2 GiB, tensors the format allows
/// but a float reader cannot take as they are, repeated fields inside a tensor entry, pipes and devices as configs.
/// </summary>
public sealed class RealFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-real-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A file of <paramref name="header"/> (JSON, padded) then <paramref name="data"/>.</summary>
    private static byte[] Image(string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var image = new byte[8 + h.Length + data.Length];
        BitConverter.GetBytes((ulong)h.Length).CopyTo(image, 0);
        h.CopyTo(image, 8);
        data.CopyTo(image, 8 + h.Length);
        return image;
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // ------------------------------------------------------------------ 1. symbolic links

    [Fact]
    public void AFileReachedThroughSymbolicLinksOpensWithItsTargetsSize()
    {
        var blob = Write("blob", SafetensorsWriter.Serialize([SafetensorsEntry.FromFloats("w", [2, 3], new float[] { 1f, 2f, 3f, 4f, 5f, 6f })]));
        var link1 = Path.Combine(_dir, "hop.safetensors");
        var link2 = Path.Combine(_dir, "model.safetensors");
        File.CreateSymbolicLink(link1, "blob");          // relative, as the Hugging Face cache stores them
        File.CreateSymbolicLink(link2, link1);           // a link to a link
        using var f = SafetensorsFile.Open(link2);
        Assert.Equal(new FileInfo(blob).Length, f.Length);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], f.ReadFloats("w"));
    }

    [Fact]
    public void AConfigReachedThroughASymbolicLinkLoads()
    {
        Write("cfg-blob", Encoding.UTF8.GetBytes("""{"r": 4, "lora_alpha": 8}"""));
        var link = Path.Combine(_dir, "adapter_config.json");
        File.CreateSymbolicLink(link, "cfg-blob");
        Assert.Equal(4, AdapterConfig.Load(link).R);
    }

    [Fact]
    public void ADanglingLinkIsFileNotFound()
    {
        var link = Path.Combine(_dir, "gone.safetensors");
        File.CreateSymbolicLink(link, "nowhere");
        Assert.Throws<FileNotFoundException>(() => SafetensorsFile.Open(link));
    }

    // ------------------------------------------------------------------ 2. over 2 GiB

    [Fact]
    public void AFileOver2GiBMapsWholeAndTensorsBeyondThe2GiBMarkRead()
    {
        const long bigElements = 600_000_000;              // F32: 2.4 GB, more than int.MaxValue bytes
        long bigBytes = bigElements * 4;
        string header = $$$"""{"big":{"dtype":"F32","shape":[{{{bigElements}}}],"data_offsets":[0,{{{bigBytes}}}]},"huge":{"dtype":"U8","shape":[3000000000],"data_offsets":[{{{bigBytes}}},{{{bigBytes + 3_000_000_000}}}]},"tail":{"dtype":"F32","shape":[2],"data_offsets":[{{{bigBytes + 3_000_000_000}}},{{{bigBytes + 3_000_000_008}}}]}}""";
        while ((header.Length + 8) % 8 != 0) header += " ";
        var h = Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(_dir, "sparse.safetensors");
        using (var fs = new FileStream(path, FileMode.CreateNew))
        {
            fs.Write(BitConverter.GetBytes((ulong)h.Length));
            fs.Write(h);
            long dataStart = 8 + h.Length;
            fs.SetLength(dataStart + bigBytes + 3_000_000_008);   // sparse: nothing but the ends is written
            fs.Position = dataStart + bigBytes - 4;
            fs.Write(BitConverter.GetBytes(7.5f));               // big's last element
            fs.Position = dataStart + bigBytes + 3_000_000_000;
            fs.Write(BitConverter.GetBytes(1.25f));
            fs.Write(BitConverter.GetBytes(-2f));
        }
        using var f = SafetensorsFile.Open(path);
        Assert.True(f.Length > 5_000_000_000L);
        Assert.Equal([1.25f, -2f], f.ReadFloats("tail"));                           // offset beyond 2³² bytes
        var view = f.GetFloatMemory("big");                                         // zero-copy view of 2.4 GB
        Assert.Equal(bigElements, view.Length);
        Assert.Equal(7.5f, view.Span[(int)bigElements - 1]);
        Assert.Equal(7.5f, BitConverter.ToSingle(f.RawBytes("big", bigBytes - 4, 4)));
        var tooBig = Assert.Throws<SafetensorsException>(() => f.RawBytes("big").Length);
        Assert.Equal(SafetensorsRule.TensorUnreadable, tooBig.Rule);
        var tooMany = Assert.Throws<SafetensorsException>(() => f.ReadFloats("huge"));   // 3·10⁹ elements: more than an array holds
        Assert.Equal(SafetensorsRule.TensorUnreadable, tooMany.Rule);
        Assert.Equal("huge", tooMany.Key);
    }

    // ------------------------------------------------------------------ 3. valid tensors a float reader must convert or name

    public static TheoryData<string, byte[], float[]> Convertible() => new()
    {
        { "U16", [0x01, 0x00, 0xFF, 0xFF], [1f, 65535f] },
        { "U32", [0x02, 0, 0, 0, 0, 0, 1, 0], [2f, 65536f] },
        { "U64", [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], [3f, 4294967296f] },
        { "I64", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 5, 0, 0, 0, 0, 0, 0, 0], [-1f, 5f] },
        { "BOOL", [1, 0], [1f, 0f] },
        { "F8_E5M2", [0x3C, 0xC0], [1f, -2f] },
        { "F8_E4M3", [0x38, 0xC4], [1f, -3f] },
    };

    [Theory]
    [MemberData(nameof(Convertible))]
    public void IntegerBoolAndFp8DTypesConvertToFloat(string dtype, byte[] data, float[] expected)
    {
        using var f = SafetensorsFile.FromBytes(Image($$$"""{"t":{"dtype":"{{{dtype}}}","shape":[2],"data_offsets":[0,{{{data.Length}}}]}}""", data));
        Assert.Equal(expected, f.ReadFloats("t"));
    }

    [Fact]
    public void AZeroSizeTensorWithADimensionAboveIntMaxIsATypedErrorNamingIt()
    {
        using var f = SafetensorsFile.FromBytes(Image("""{"empty":{"dtype":"F32","shape":[0,3000000000],"data_offsets":[0,0]}}""", []));
        Assert.Empty(f.ReadFloats("empty"));
        var ex = Assert.Throws<SafetensorsException>(() => f.Info("empty").IntShape);
        Assert.Equal(SafetensorsRule.TensorUnreadable, ex.Rule);
        Assert.Equal("empty", ex.Key);
    }

    // ------------------------------------------------------------------ 4. a field repeated inside a tensor entry

    [Theory]
    [InlineData("""{"t":{"dtype":"F16","dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,4]}}""")]
    public void AFieldRepeatedInsideATensorEntryIsRejected(string header)
    {
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.FromBytes(Image(header, new byte[4])));
        Assert.Equal(SafetensorsRule.InvalidHeaderDeserialization, ex.Rule);
        Assert.Equal("t", ex.Key);
        Assert.Contains("duplicate field", ex.Message, StringComparison.Ordinal);
    }

    // ------------------------------------------------------------------ 5. pipes, devices, huge configs

    [Fact]
    public async Task AConfigThatIsAFifoFailsFastInsteadOfHanging()
    {
        var fifo = Path.Combine(_dir, "adapter_config.json");
        using (var mk = Process.Start("mkfifo", [fifo])) mk.WaitForExit();
        var sw = Stopwatch.StartNew();
        var load = Task.Run(() => AdapterConfig.Load(fifo));
        var done = await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(done == load, "Load hung on a FIFO");
        await Assert.ThrowsAsync<AdapterConfigException>(() => load);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void DevZeroAsConfigOrWeightsIsATypedErrorNotAnOutOfMemory()
    {
        var cfgLink = Path.Combine(_dir, "adapter_config.json");
        File.CreateSymbolicLink(cfgLink, "/dev/zero");
        Assert.Throws<AdapterConfigException>(() => AdapterConfig.Load(cfgLink));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open("/dev/zero"));
        Assert.Equal(SafetensorsRule.HeaderTooSmall, ex.Rule);
    }

    [Fact]
    public void AConfigOverTheSizeLimitIsRefusedUnread()
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        using (var fs = new FileStream(path, FileMode.CreateNew)) fs.SetLength(AdapterConfig.MaxFileSize + 1);
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Load(path));
        Assert.Contains("at most", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAdapterDirectoryWhoseConfigIsAFifoFailsFast()
    {
        AdapterDirectory.Save(_dir, new AdapterConfig { R = 1, TargetModules = new[] { "q" } },
            [SafetensorsEntry.FromFloats(AdapterKeys.A("q", LayerKind.Linear), [1, 2], new float[] { 1f, 2f }), SafetensorsEntry.FromFloats(AdapterKeys.B("q", LayerKind.Linear), [2, 1], new float[] { 1f, 2f })]);
        var cfg = Path.Combine(_dir, AdapterKeys.ConfigFile);
        File.Delete(cfg);
        using (var mk = Process.Start("mkfifo", [cfg])) mk.WaitForExit();
        var open = Task.Run(() => AdapterDirectory.Open(_dir).Dispose());
        var done = await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(done == open, "Open hung on a FIFO config");
        await Assert.ThrowsAsync<AdapterConfigException>(() => open);
    }
}
