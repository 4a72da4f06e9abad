using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// The int8 frozen base (<see cref="Int8Weight"/>, <see cref="Int8Gemm"/>): per-channel weight codes, the int8 GEMM
/// against an exact integer reference (bit-exact), against the fp32 GEMM within the quantization error, the scalar
/// kernel against the VNNI one, allocation, and LoRA on an int8 base (finite differences for A/B, training, merge).
/// One class: the scalar switch is process-wide, so these tests must not run in parallel with each other.
/// </summary>
public class Int8Tests(ITestOutputHelper output)
{
    /// <summary>The documented quantization tolerance: per-token int8 activations × per-channel int8 weights.</summary>
    private const float QuantizationRtol = 0.03f;

    [Fact]
    public void WeightCodesArePerChannelRoundToNearest()
    {
        const int rows = 21, cols = 37;   // neither a multiple of the panel width 16 nor of the group 4
        var w = new float[rows * cols];
        new Rng(5).FillNormal(w, 0, 0.2f);
        for (int c = 0; c < cols; c++) w[3 * cols + c] = 0f;   // an all-zero row
        var q8 = new Int8Weight(w, rows, cols);
        var widened = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            float max = 0f;
            for (int c = 0; c < cols; c++) max = Math.Max(max, Math.Abs(w[r * cols + c]));
            Assert.Equal(max / 127f, q8.Scales[r]);
            q8.WidenRow(r, 0, widened);
            for (int c = 0; c < cols; c++)
            {
                int expected = max == 0f ? 0 : (int)MathF.Round(w[r * cols + c] * (127f / max), MidpointRounding.ToEven);
                Assert.Equal(expected, q8.Code(r, c));
                Assert.Equal(q8.Code(r, c) * q8.Scales[r], widened[c]);
                Assert.True(Math.Abs(widened[c] - w[r * cols + c]) <= q8.Scales[r] / 2 * 1.0001f + 1e-12f, $"W[{r},{c}]");
            }
        }
        // A segment that starts and ends inside a group of 4 columns widens the same values.
        var part = new float[30];
        q8.WidenRow(7, 5, part);
        for (int i = 0; i < part.Length; i++) Assert.Equal(q8.Code(7, 5 + i) * q8.Scales[7], part[i]);
        Assert.Throws<ArgumentException>(() => new Int8Weight(new float[10], 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => q8.WidenRow(0, 30, new float[8]));
        // ≈ 1 byte per weight: codes padded to 16 rows × 40 columns, scales, row sums.
        Assert.Equal(32L * 40 + 4 * rows + 4 * 32, q8.StorageBytes);
    }

    /// <summary>The exact reference: per-row int8 activations, int64 dot products, then the fp32 scaling in the kernel's order.</summary>
    private static float[] Reference(bool transB, int m, int n, int k, float alpha, float[] a, Int8Weight w, float beta, float[] c0)
    {
        var c = (float[])c0.Clone();
        var q = new int[k];
        var x = new float[k];
        for (int r = 0; r < m; r++)
        {
            // Backward (g·W): the weight's channel scales are folded into the row before it is quantized.
            for (int p = 0; p < k; p++) x[p] = transB ? a[r * k + p] : a[r * k + p] * w.Scales[p];
            float max = 0f;
            foreach (float v in x) max = Math.Max(max, Math.Abs(v));
            float inv = max == 0f ? 0f : 127f / max, scale = max == 0f ? 0f : max / 127f * alpha;
            for (int p = 0; p < k; p++) q[p] = Math.Clamp((int)MathF.Round(x[p] * inv, MidpointRounding.ToEven), -127, 127);
            for (int j = 0; j < n; j++)
            {
                long sum = 0;
                for (int p = 0; p < k; p++) sum += q[p] * (transB ? w.Code(j, p) : w.Code(p, j));
                float v = (float)sum * scale * (transB ? w.Scales[j] : 1f);
                c[r * n + j] = beta == 0f ? v : beta * c[r * n + j] + v;
            }
        }
        return c;
    }

    private static (float[] A, Int8Weight W, float[] Fp32W, float[] C0) Problem(int m, int n, int k, bool transB, ulong seed)
    {
        var rng = new Rng(seed);
        var a = new float[m * k];
        rng.FillNormal(a, 0, 1);
        int wRows = transB ? n : k, wCols = transB ? k : n;
        var w = new float[wRows * wCols];
        rng.FillNormal(w, 0, 0.1f);
        var c0 = new float[m * n];
        rng.FillNormal(c0, 0, 1);
        return (a, new Int8Weight(w, wRows, wCols), w, c0);
    }

    [Theory]
    [InlineData(1, 1, 1, true)]
    [InlineData(1, 5, 3, true)]
    [InlineData(7, 19, 33, true)]
    [InlineData(7, 19, 33, false)]
    [InlineData(13, 17, 70, true)]       // m, n, k off the tile (6×16) and the group (4)
    [InlineData(130, 301, 270, true)]    // several panels both ways, parallel row blocks
    [InlineData(130, 301, 270, false)]
    [InlineData(2048, 40, 300, true)]    // tall: many parallel blocks
    [InlineData(97, 256, 1024, false)]   // TinyGpt's MLP backward shape, odd m
    public void GemmEqualsTheExactIntegerReferenceBitForBit(int m, int n, int k, bool transB)
    {
        var (a, w, _, c0) = Problem(m, n, k, transB, (ulong)(m * 131 + n * 17 + k));
        foreach (float beta in new[] { 0f, 1f })
        {
            var expected = Reference(transB, m, n, k, 1f, a, w, beta, c0);
            var actual = (float[])c0.Clone();
            Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, w, beta, actual, n);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i] == actual[i], $"beta {beta}, C[{i / n},{i % n}]: {actual[i]} vs exact {expected[i]} (VNNI {Int8Gemm.UsesVnni})");
        }
    }

    [Theory]
    [InlineData(7, 19, 33, true)]
    [InlineData(130, 301, 270, true)]
    [InlineData(130, 301, 270, false)]
    [InlineData(2048, 96, 256, true)]
    public void GemmIsCloseToTheFp32GemmWithinTheQuantizationError(int m, int n, int k, bool transB)
    {
        var (a, w, fp32, c0) = Problem(m, n, k, transB, (ulong)(m + 3 * n + 7 * k));
        var expected = new float[m * n];
        var actual = new float[m * n];
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, fp32, transB ? k : n, 0f, expected, n);
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, w, 0f, actual, n);
        double err = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            err += Math.Pow(actual[i] - expected[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        double rel = Math.Sqrt(err / norm);
        output.WriteLine($"{m}x{n}x{k} transB={transB}: relative RMS error of the int8 GEMM vs fp32 {rel:E3}");
        // Two int8 roundings (≈ 1/254 of each row's / channel's max each) on Gaussian data: ≈ 1% of the output's RMS.
        Assert.True(rel <= QuantizationRtol, $"relative RMS error {rel}");
        // Beta and alpha: C = 0.5·A·op(W) + 2·C0 equals 2·C0 + (the beta = 0 result).
        var withBeta = (float[])c0.Clone();
        Gemm.Sgemm(false, transB, m, n, k, 0.5f, a, k, w, 2f, withBeta, n);
        for (int i = 0; i < withBeta.Length; i++) Assert.Equal(2f * c0[i] + actual[i], withBeta[i], 4);
    }

    [Theory]
    [InlineData(13, 17, 70, true)]
    [InlineData(130, 301, 270, true)]
    [InlineData(130, 301, 270, false)]
    public void TheScalarKernelEqualsTheVnniKernelBitForBit(int m, int n, int k, bool transB)
    {
        var (a, w, _, c0) = Problem(m, n, k, transB, (ulong)(m * 7 + n * 5 + k));
        var fast = (float[])c0.Clone();
        var scalar = (float[])c0.Clone();
        Gemm.Sgemm(false, transB, m, n, k, 0.75f, a, k, w, 1f, fast, n);
        bool vnni = Int8Gemm.UsesVnni;
        Int8Gemm.ForceScalar = true;
        try
        {
            Assert.False(Int8Gemm.UsesVnni);
            Gemm.Sgemm(false, transB, m, n, k, 0.75f, a, k, w, 1f, scalar, n);
        }
        finally { Int8Gemm.ForceScalar = false; }
        output.WriteLine($"AVX-VNNI on this host: {vnni}");
        Assert.Equal(fast, scalar);
    }

    [Fact]
    public void GemmOverInt8AllocatesNothingPerCallAfterWarmUp()
    {
        const int m = 64, n = 512, k = 512;
        var rng = new Rng(3);
        var a = new float[m * k];
        var w = new float[n * k];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(w, 0, 1);
        var q8 = new Int8Weight(w, n, k);
        var c = new float[m * n];
        var dx = new float[m * k];
        // Warm-up: this thread's packed-activation buffer and the weight's backward panels are made on first use.
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, q8, 0f, c, n, parallel: false);
        Gemm.Sgemm(false, false, m, k, n, 1f, c, n, q8, 0f, dx, k, parallel: false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gemm.Sgemm(false, true, m, n, k, 1f, a, k, q8, 0f, c, n, parallel: false);
        Gemm.Sgemm(false, false, m, k, n, 1f, c, n, q8, 0f, dx, k, parallel: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"allocated {allocated} bytes around two int8 GEMMs");
        Assert.True(allocated < 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void TheFp32BackwardSwitchWidensTheSameWeight()
    {
        var (g, w, _, _) = Problem(40, 33, 50, transB: false, seed: 77);
        var dequantized = new float[w.Rows * w.Cols];
        LowPrecisionStorage.Dequantize(w, dequantized);
        var expected = new float[40 * 33];
        var actual = new float[40 * 33];
        Gemm.Sgemm(false, false, 40, 33, 50, 1f, g, 50, dequantized, 33, 0f, expected, 33);
        Int8Gemm.QuantizedBackward = false;
        try { Gemm.Sgemm(false, false, 40, 33, 50, 1f, g, 50, w, 0f, actual, 33); }
        finally { Int8Gemm.QuantizedBackward = true; }
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1f, Math.Abs(expected[i])), $"dX[{i}]");
    }

    [Fact]
    public void LoraGradientsOverAnInt8BaseMatchFiniteDifferences()
    {
        var layer = new Linear(23, 13, rng: new Rng(41));
        layer.Freeze();
        var adapter = layer.EnableLora("layer").Add("default", new LoraConfig(3, 6), new Rng(42));
        new Rng(43).FillNormal(adapter.B.Data, 0, 0.3f);
        layer.CastBase(BaseFormat.Int8);
        Assert.Equal(BaseFormat.Int8, layer.BaseFormat);
        var x = GradCheckTests.Input(new Rng(44), 5, 23);
        // A and B are the inputs; the int8 base and x stay fixed, so the loss is smooth in them.
        GradCheckTests.GradCheck(_ => layer.Forward(x), adapter.A, adapter.B);
        Assert.Null(layer.Weight.Grad);
    }

    [Fact]
    public void LinearOnAnInt8BaseIsCloseToFp32AndItsInputGradientIsTheInt8Backward()
    {
        var rng = new Rng(12);
        var plain = new Linear(70, 45, rng: rng);
        var cast = new Linear(70, 45, rng: new Rng(1));
        cast.Weight.CopyFrom(plain.Weight);
        cast.Bias!.CopyFrom(plain.Bias!);
        cast.Freeze();
        plain.Freeze();
        var reference = new Int8Weight(plain.Weight.Data, 45, 70);
        LowPrecisionStorage.Dequantize(reference, plain.Weight.Data);
        cast.CastBase(BaseFormat.Int8);
        Assert.IsType<Int8Weight>(cast.LowPrecisionBase);
        Assert.Equal(plain.Weight.ToArray(), cast.Weight.ToArray());   // W reads as the dequantized values
        cast.CompactBase();
        // Codes padded to 48 rows (3 panels of 16) × 72 columns (groups of 4), 45 scales, 48 row sums: ≈ 0.29× fp32 here.
        Assert.Equal(48L * 72 + 4 * 45 + 4 * 48, cast.BaseWeightBytes);

        var x = Tensor.Randn(rng, 1f, 4, 3, 70);
        var x2 = x.Clone();
        x.RequiresGrad = x2.RequiresGrad = true;
        var g = Tensor.Randn(rng, 1f, 4, 3, 45);
        var y1 = plain.Forward(x);
        var y2 = cast.Forward(x2);
        TestUtil.AssertClose(y1, y2, QuantizationRtol, "forward");
        y1.Backward(g.Clone());
        y2.Backward(g.Clone());
        TestUtil.AssertClose(x.Grad!, x2.Grad!, QuantizationRtol, "dX");
        Assert.Null(cast.Weight.Grad);
        // dX is exactly the int8 backward product.
        var dx = new float[12 * 70];
        Int8Gemm.Multiply(12, 70, 45, 1f, g.Data, 45, (Int8Weight)cast.LowPrecisionBase!, 0f, dx, 70);
        Assert.Equal(dx, x2.Grad!.ToArray());
    }

    [Fact]
    public void LoraTrainsOnAnInt8BaseAndMergeIsExactOnTheDequantizedWeight()
    {
        var model = new TwoLinears();
        model.Lora.Attach();
        Assert.Equal(2, model.Lora.Quantize(BaseFormat.Int8));
        var w0 = model.Up.Weight.ToArray();
        var rng = new Rng(23);
        var x = Tensor.Randn(rng, 1f, 16, 96);
        var target = Tensor.Randn(rng, 1f, 16, 40);
        var opt = new AdamW(model.Lora.Parameters(), lr: 1e-2f, weightDecay: 0f);
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            opt.ZeroGrad();
            var d = model.Forward(x).Sub(target);
            var loss = d.Mul(d).Mean();
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        output.WriteLine($"loss {first} -> {last}");
        Assert.True(last < 0.9f * first, $"loss {first} -> {last}");
        Assert.Null(model.Up.Weight.Grad);
        Assert.Equal(w0, model.Up.Weight.ToArray());
        Assert.Equal(BaseFormat.Int8, model.Up.BaseFormat);
        var report = model.Lora.MemoryReport(opt);
        Assert.Equal(model.Up.BaseWeightBytes + model.Down.BaseWeightBytes, report.BaseInt8Bytes);
        Assert.Contains("int8", report.ToString(), StringComparison.Ordinal);

        using var _ = GradMode.NoGrad();
        model.Eval();
        var unmerged = model.Forward(x);
        model.Lora.Merge();
        // Merged: the fp32 GEMM over the dequantized weight + ΔW (activations no longer quantized).
        TestUtil.AssertClose(unmerged, model.Forward(x), QuantizationRtol, "merged forward");
        model.Lora.Unmerge();
        Assert.Equal(w0, model.Up.Weight.ToArray());
        Assert.Equal(BaseFormat.Int8, model.Up.BaseFormat);
        Assert.Equal(unmerged.ToArray(), model.Forward(x).ToArray());

        model.Lora.MergeAndUnload();
        Assert.Equal(["up", "down"], model.Lora.RequantizedLayers);
        Assert.Equal(BaseFormat.Int8, model.Up.BaseFormat);
    }

    [Fact]
    public void TheCompileTimeSettingQuantizesToInt8OnAttach()
    {
        var model = new TwoLinears(LoraBaseQuantization.Int8);
        model.Lora.Attach();
        Assert.Equal(BaseFormat.Int8, model.Up.BaseFormat);
        Assert.Equal(BaseFormat.Int8, model.Down.BaseFormat);
        Assert.Equal(3, (int)LoraBaseQuantization.Int8);
    }

    /// <summary>Two Linear layers (up 96→40, down 40→40), both LoRA targets, with a hand-written Lora facade.</summary>
    private sealed class TwoLinears : Module
    {
        public TwoLinears(LoraBaseQuantization quantization = LoraBaseQuantization.None)
        {
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with
            {
                Defaults = new LoraConfig(4, 8),
                Targets = ["up", "down"],
                BaseQuantization = quantization,
            });
        }

        public Linear Up { get; } = new(96, 40, rng: new Rng(21));

        public Linear Down { get; } = new(40, 40, rng: new Rng(22));

        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("up", Up);
            yield return ("down", Down);
        }

        public Tensor Forward(Tensor x) => Down.Forward(Up.Forward(x).Relu());
    }
}
