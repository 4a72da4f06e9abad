using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The low-precision frozen base: bf16 rounding, the GEMM's tile-widening hook, and Linear.CastBase.</summary>
public class LowPrecisionBaseTests
{
    [Fact]
    public void Bf16RoundsToNearestEven()
    {
        Assert.Equal(1f, Bf16Weight.RoundToFloat(1f));
        Assert.Equal(1f, Bf16Weight.RoundToFloat(1f + MathF.Pow(2, -8)));                      // tie → even (1.0)
        Assert.Equal(1f + MathF.Pow(2, -6), Bf16Weight.RoundToFloat(1f + 3 * MathF.Pow(2, -8))); // tie → even (up)
        Assert.Equal(1f + MathF.Pow(2, -7), Bf16Weight.RoundToFloat(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20)));
        Assert.Equal(-2.5f, Bf16Weight.RoundToFloat(-2.5f));
        Assert.True(float.IsNaN(Bf16Weight.RoundToFloat(float.NaN)));
        Assert.Equal(float.PositiveInfinity, Bf16Weight.RoundToFloat(float.PositiveInfinity));
    }

    [Theory]
    [InlineData(7, 19, 33, false)]
    [InlineData(7, 19, 33, true)]
    [InlineData(1, 5, 3, true)]
    [InlineData(130, 301, 270, true)]     // crosses KC, several panels, parallel M split
    [InlineData(130, 301, 270, false)]
    [InlineData(2048, 40, 300, true)]     // tall: the parallel path with a shared packed weight
    public void GemmOverBf16EqualsGemmOverRoundedWeight(int m, int n, int k, bool transB)
    {
        var rng = new Rng((ulong)(m * 31 + n * 7 + k));
        var a = new float[m * k];
        rng.FillNormal(a, 0, 1);
        int wRows = transB ? n : k, wCols = transB ? k : n;
        var w = new float[wRows * wCols];
        rng.FillNormal(w, 0, 0.1f);
        var bf = new Bf16Weight(w, wRows, wCols);
        var rounded = w.Select(Bf16Weight.RoundToFloat).ToArray();
        var c0 = new float[m * n];
        rng.FillNormal(c0, 0, 1);
        var expected = (float[])c0.Clone();
        var actual = (float[])c0.Clone();
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, rounded, wCols, 1f, expected, n);
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, bf, 1f, actual, n);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[i])), $"C[{i}]: {actual[i]} vs {expected[i]}");
        Assert.Equal(2L * w.Length, bf.StorageBytes);
    }

    [Fact]
    public void GemmOverBf16MakesNoFp32CopyOfTheWeight()
    {
        const int m = 64, n = 512, k = 512;   // the weight would be 1 MiB in fp32
        var rng = new Rng(3);
        var a = new float[m * k];
        var w = new float[n * k];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(w, 0, 1);
        var bf = new Bf16Weight(w, n, k);
        var c = new float[m * n];
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, bf, 0f, c, n, parallel: false);   // warm-up: scratch buffers
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, bf, 0f, c, n, parallel: false);
        Gemm.Sgemm(false, false, m, k, n, 1f, c, n, bf, 0f, a, k, parallel: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4096, $"allocated {allocated} bytes");
    }

    [Fact]
    public void GemmOverBf16ChecksTheWeightShape()
    {
        var bf = new Bf16Weight(new float[12], 3, 4);
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, true, 2, 4, 3, 1f, new float[6], 3, bf, 0f, new float[8], 4));
    }

    [Fact]
    public void CastBaseMatchesTheRoundedFp32LayerForwardAndBackward()
    {
        var rng = new Rng(11);
        var plain = new Linear(37, 23, rng: rng);
        var cast = new Linear(37, 23, rng: new Rng(1));
        cast.Weight.CopyFrom(plain.Weight);
        cast.Bias!.CopyFrom(plain.Bias!);
        cast.Freeze();
        plain.Freeze();
        cast.CastBase(BaseFormat.BF16);
        Assert.Equal(BaseFormat.BF16, cast.BaseFormat);
        for (int i = 0; i < plain.Weight.Size; i++) plain.Weight.Data[i] = Bf16Weight.RoundToFloat(plain.Weight.Data[i]);
        Assert.Equal(plain.Weight.ToArray(), cast.Weight.ToArray());   // W itself now holds the bf16 values

        TestUtil.AssertFrozenLinearsAgree(plain, cast, rng, batch: 5);
    }

    [Fact]
    public void CastBaseRefusesATrainableWeight()
    {
        var layer = new Linear(4, 3);
        Assert.Throws<InvalidOperationException>(() => layer.CastBase(BaseFormat.BF16));
        Assert.Equal(BaseFormat.Fp32, layer.BaseFormat);
    }

    [Fact]
    public void CastFrozenBaseSkipsTrainableLayersAndFp32Undoes()
    {
        var frozen = new Linear(8, 8);
        frozen.Freeze();
        var trainable = new Linear(8, 8);
        var list = new ModuleList<Linear>(frozen, trainable);
        Assert.Equal(1, list.CastFrozenBase(BaseFormat.BF16));
        Assert.Equal(BaseFormat.BF16, frozen.BaseFormat);
        Assert.Equal(BaseFormat.Fp32, trainable.BaseFormat);
        list.CastFrozenBase(BaseFormat.Fp32);
        Assert.Equal(BaseFormat.Fp32, frozen.BaseFormat);
    }

    [Fact]
    public void LoadingWeightsRebuildsTheBf16Copy()
    {
        var source = new Linear(6, 5, rng: new Rng(4));
        var path = Path.Combine(Path.GetTempPath(), $"loragen-bf16-{Guid.NewGuid():N}.safetensors");
        try
        {
            source.SaveWeights(path);
            var layer = new Linear(6, 5, rng: new Rng(5));
            layer.Freeze();
            layer.CastBase(BaseFormat.BF16);
            layer.LoadWeights(path);
            Assert.Equal(BaseFormat.BF16, layer.BaseFormat);
            var x = Tensor.Randn(new Rng(6), 1f, 3, 6);
            var expected = new Linear(6, 5);
            expected.LoadWeights(path);
            for (int i = 0; i < expected.Weight.Size; i++) expected.Weight.Data[i] = Bf16Weight.RoundToFloat(expected.Weight.Data[i]);
            using var _ = GradMode.NoGrad();
            TestUtil.AssertClose(expected.Forward(x), layer.Forward(x), 1e-5f, "forward after load");
        }
        finally { File.Delete(path); }
    }
}
