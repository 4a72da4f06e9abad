using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// NF4 with double quantization (QLoRA) against tools/make_nf4_fixtures.py (PyTorch 1.13, written from the paper):
/// the code book, bit-exact codes, dequantized values, the GEMM over NF4 tiles, and LoRA training on an NF4 base.
/// </summary>
public class Nf4Tests(ITestOutputHelper output)
{
    private static readonly Lazy<SafetensorsFile> Fixture = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "nf4.safetensors")));

    private static SafetensorsFile F => Fixture.Value;

    [Fact]
    public void CodeBookIsThePublishedSixteenValues()
    {
        // QLoRA appendix E (and bitsandbytes), as written there.
        double[] published =
        [
            -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
            -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
            0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
        ];
        Assert.Equal(published.Select(v => (float)v), Nf4Weight.CodeBook.ToArray());
        Assert.Equal(F.ReadFloats("codebook"), Nf4Weight.CodeBook.ToArray());
    }

    [Theory]
    [InlineData("a", 7, 19)]
    [InlineData("b", 33, 65)]
    [InlineData("c", 70, 300)]   // 329 blocks: two double-quantization blocks, the last one partial
    public void QuantizeMatchesTheReferenceBitExactly(string name, int rows, int cols)
    {
        var w = F.ReadFloats($"{name}.w");
        var nf4 = new Nf4Weight(w, rows, cols);

        var codes = F.RawBytes($"{name}.codes");
        Assert.Equal(w.Length, codes.Length);
        for (int i = 0; i < codes.Length; i++) Assert.True(codes[i] == nf4.Code(i), $"code[{i}]: {nf4.Code(i)} vs {codes[i]}");

        var q = F.RawBytes($"{name}.qabsmax");
        Assert.Equal(q.Length, nf4.QuantizedAbsmax.Length);
        for (int b = 0; b < q.Length; b++) Assert.Equal((sbyte)q[b], nf4.QuantizedAbsmax[b]);
        Assert.Equal(F.ReadFloats($"{name}.scales"), nf4.AbsmaxScales.ToArray());
        Assert.Equal(F.ReadFloats($"{name}.offset")[0], nf4.AbsmaxOffset);

        var absmaxDq = F.ReadFloats($"{name}.absmax_dq");
        float absmaxErr = 0;
        for (int b = 0; b < absmaxDq.Length; b++) absmaxErr = Math.Max(absmaxErr, Math.Abs(absmaxDq[b] - nf4.Absmax(b)));
        var expected = F.ReadFloats($"{name}.dequant");
        var actual = new float[w.Length];
        nf4.Dequantize(actual);
        float err = 0;
        for (int i = 0; i < w.Length; i++) err = Math.Max(err, Math.Abs(expected[i] - actual[i]));
        output.WriteLine($"{name} {rows}x{cols}: max |absmax' error| {absmaxErr:E2}, max |dequantized error| {err:E2}");
        Assert.True(absmaxErr <= 1e-6f, $"absmax' off by {absmaxErr}");
        Assert.True(err <= 1e-6f, $"dequantized off by {err}");

        // The double quantization really is lossy only in absmax: the fp32 absmax is within one int8 step.
        var absmax = F.ReadFloats($"{name}.absmax");
        for (int b = 0; b < absmax.Length; b++)
            Assert.True(Math.Abs(absmax[b] - nf4.Absmax(b)) <= nf4.AbsmaxScales[b / Nf4Weight.AbsmaxBlockSize] / 127f, $"absmax[{b}]");
    }

    [Fact]
    public void StorageIsAtMostFifteenHundredthsOfFp32()
    {
        const int rows = 768, cols = 768;
        var w = new float[rows * cols];
        new Rng(8).FillNormal(w, 0, 0.02f);
        var nf4 = new Nf4Weight(w, rows, cols);
        long fp32 = 4L * w.Length;
        int blocks = w.Length / 64;
        Assert.Equal(w.Length / 2 + blocks + 4L * ((blocks + 255) / 256) + 4, nf4.StorageBytes);
        double ratio = (double)nf4.StorageBytes / fp32;
        output.WriteLine($"768x768: NF4 {nf4.StorageBytes} bytes vs fp32 {fp32} bytes = {ratio:F4}x ({8.0 * nf4.StorageBytes / w.Length:F3} bits/weight)");
        Assert.True(ratio <= 0.15, $"ratio {ratio}");
    }

    [Fact]
    public void ZerosAndOutOfRangeAreHandled()
    {
        var nf4 = new Nf4Weight(new float[130], 10, 13);   // all-zero blocks: absmax 0, every code is exactly 0.0
        var back = new float[130];
        nf4.Dequantize(back);
        Assert.All(back, v => Assert.Equal(0f, v));
        Assert.Equal(7, nf4.Code(0));
        Assert.Throws<ArgumentException>(() => new Nf4Weight(new float[10], 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => nf4.WidenRow(0, 10, new float[4]));
    }

    [Theory]
    [InlineData(7, 19, 33, false)]
    [InlineData(7, 19, 33, true)]
    [InlineData(1, 5, 3, true)]
    [InlineData(130, 301, 270, true)]     // crosses KC, several panels, parallel M split; rows straddle blocks
    [InlineData(130, 301, 270, false)]
    [InlineData(2048, 40, 300, true)]     // tall: the parallel path with a shared packed weight
    public void GemmOverNf4EqualsGemmOverTheDequantizedWeight(int m, int n, int k, bool transB)
    {
        var rng = new Rng((ulong)(m * 131 + n * 17 + k));
        var a = new float[m * k];
        rng.FillNormal(a, 0, 1);
        int wRows = transB ? n : k, wCols = transB ? k : n;
        var w = new float[wRows * wCols];
        rng.FillNormal(w, 0, 0.1f);
        var nf4 = new Nf4Weight(w, wRows, wCols);
        var dequantized = new float[w.Length];
        nf4.Dequantize(dequantized);
        var c0 = new float[m * n];
        rng.FillNormal(c0, 0, 1);
        var expected = (float[])c0.Clone();
        var actual = (float[])c0.Clone();
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, dequantized, wCols, 1f, expected, n);
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, nf4, 1f, actual, n);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[i])), $"C[{i}]: {actual[i]} vs {expected[i]}");
    }

    [Fact]
    public void GemmOverNf4AllocatesLessThanOneTile()
    {
        const int m = 64, n = 512, k = 512;   // the weight would be 1 MiB in fp32, one 256-wide tile row 512 KiB
        var rng = new Rng(3);
        var a = new float[m * k];
        var w = new float[n * k];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(w, 0, 1);
        var nf4 = new Nf4Weight(w, n, k);
        var c = new float[m * n];
        // Warm-up of both layouts: this thread's scratch and pack buffers are sized on first use (which shapes ran on
        // this test thread before depends on test order).
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, nf4, 0f, c, n, parallel: false);
        Gemm.Sgemm(false, false, m, k, n, 1f, c, n, nf4, 0f, new float[m * k], k, parallel: false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, nf4, 0f, c, n, parallel: false);
        Gemm.Sgemm(false, false, m, k, n, 1f, c, n, nf4, 0f, a, k, parallel: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"allocated {allocated} bytes around two NF4 GEMMs");
        Assert.True(allocated < 4096, $"allocated {allocated} bytes");
    }

    [Fact]
    public void CastBaseToNf4MatchesTheDequantizedFp32Layer()
    {
        var rng = new Rng(12);
        var plain = new Linear(70, 45, rng: rng);
        var cast = new Linear(70, 45, rng: new Rng(1));
        cast.Weight.CopyFrom(plain.Weight);
        cast.Bias!.CopyFrom(plain.Bias!);
        cast.Freeze();
        plain.Freeze();
        var reference = new Nf4Weight(plain.Weight.Data, 45, 70);
        reference.Dequantize(plain.Weight.Data);
        cast.CastBase(BaseFormat.NF4);
        Assert.Equal(BaseFormat.NF4, cast.BaseFormat);
        Assert.IsType<Nf4Weight>(cast.LowPrecisionBase);
        Assert.Equal(plain.Weight.ToArray(), cast.Weight.ToArray());   // W holds the dequantized values

        TestUtil.AssertFrozenLinearsAgree(plain, cast, rng, batch: 4);
    }

    [Fact]
    public void LoadingWeightsRequantizesToNf4()
    {
        var source = new Linear(66, 5, rng: new Rng(4));
        var path = Path.Combine(Path.GetTempPath(), $"loragen-nf4-{Guid.NewGuid():N}.safetensors");
        try
        {
            source.SaveWeights(path);
            var layer = new Linear(66, 5, rng: new Rng(5));
            layer.Freeze();
            layer.CastBase(BaseFormat.NF4);
            layer.LoadWeights(path);
            Assert.Equal(BaseFormat.NF4, layer.BaseFormat);
            var expected = new Nf4Weight(source.Weight.Data, 5, 66);
            for (int i = 0; i < source.Weight.Size; i++) Assert.Equal(expected.Code(i), ((Nf4Weight)layer.LowPrecisionBase!).Code(i));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void LoraTrainsOnAnNf4BaseAndOnlyAAndBMove()
    {
        var layer = new Linear(96, 40, rng: new Rng(21));
        layer.Freeze();
        var adapter = layer.EnableLora("layer").Add("default", new LoraConfig(4, 8), new Rng(22));
        layer.CastBase(BaseFormat.NF4);
        var w0 = layer.Weight.ToArray();
        var b0 = layer.Bias!.ToArray();
        var a0 = adapter.A.ToArray();
        var rng = new Rng(23);
        var x = Tensor.Randn(rng, 1f, 16, 96);
        var target = Tensor.Randn(rng, 1f, 16, 40);
        var opt = new AdamW(layer.TrainableParameters(), lr: 1e-2f, weightDecay: 0f);
        Assert.Equal(2, layer.TrainableParameters().Count());
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            opt.ZeroGrad();
            var d = layer.Forward(x).Sub(target);
            var loss = d.Mul(d).Mean();
            loss.Backward();
            Assert.Null(layer.Weight.Grad);
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        output.WriteLine($"loss {first} -> {last}");
        Assert.True(last < 0.9f * first, $"loss {first} -> {last}");
        Assert.Equal(w0, layer.Weight.ToArray());
        Assert.Equal(b0, layer.Bias.ToArray());
        Assert.NotEqual(a0, adapter.A.ToArray());
        Assert.Contains(adapter.B.ToArray(), v => v != 0f);
        Assert.Equal(BaseFormat.NF4, layer.BaseFormat);
    }

    [Fact]
    public void MergeOnAnNf4BaseIsExactOnTheDequantizedWeightAndUnmergeReturnsToNf4()
    {
        var layer = new Linear(80, 24, rng: new Rng(31));
        layer.Freeze();
        var adapter = layer.EnableLora("layer").Add("default", new LoraConfig(4, 8), new Rng(32));
        new Rng(33).FillNormal(adapter.B.Data, 0, 0.3f);
        layer.CastBase(BaseFormat.NF4);
        var dequantized = layer.Weight.ToArray();
        var x = Tensor.Randn(new Rng(34), 1f, 6, 80);
        using var _ = GradMode.NoGrad();
        var unmerged = layer.Forward(x);
        layer.Lora!.Merge();
        TestUtil.AssertClose(unmerged, layer.Forward(x), 1e-5f, "merged forward (fp32 W + ΔW)");
        layer.Lora!.Unmerge();
        Assert.Equal(dequantized, layer.Weight.ToArray());
        Assert.Equal(BaseFormat.NF4, layer.BaseFormat);
        Assert.Equal(unmerged.ToArray(), layer.Forward(x).ToArray());
    }
}
