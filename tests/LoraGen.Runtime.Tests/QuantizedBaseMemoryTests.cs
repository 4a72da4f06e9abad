using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// A low-precision base really replaces the fp32 weight: the fp32 array is released, the layer holds only the NF4/bf16
/// bytes, merges and saves see the dequantized values, and a merge made permanent re-quantizes and says so.
/// </summary>
public class QuantizedBaseMemoryTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CastAndWatchTheFp32Array(Linear layer, BaseFormat format)
    {
        Assert.True(MemoryMarshal.TryGetArray<float>(layer.Weight.Storage, out var segment));
        var watch = new WeakReference(segment.Array);
        layer.CastBase(format);
        return watch;
    }

    [Theory]
    [InlineData(BaseFormat.NF4, 0.15)]
    [InlineData(BaseFormat.BF16, 0.5)]
    public void CastingReleasesTheFp32ArrayAndTheLayerHoldsOnlyTheLowPrecisionBytes(BaseFormat format, double maxRatio)
    {
        var layer = new Linear(256, 96, rng: new Rng(41));
        layer.Freeze();
        long fp32Bytes = 4L * layer.Weight.Size;
        Assert.Equal(fp32Bytes, layer.BaseWeightBytes);
        var watch = CastAndWatchTheFp32Array(layer, format);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(watch.IsAlive, "the fp32 weight array is still referenced after the cast");
        Assert.False(MemoryMarshal.TryGetArray<float>(layer.Weight.Storage, out _));   // W's storage is the dequantizing view
        Assert.Equal(layer.LowPrecisionBase!.StorageBytes, layer.BaseWeightBytes);
        Assert.True(layer.BaseWeightBytes <= maxRatio * fp32Bytes, $"{layer.BaseWeightBytes} bytes vs fp32 {fp32Bytes}");

        // Training forward and backward (dX through the tile hook) never materialize an fp32 copy.
        layer.EnableLora("layer").Add("default", new LoraConfig(4, 8), new Rng(42));
        var x = Tensor.Randn(new Rng(43), 1f, 8, 256);
        x.RequiresGrad = true;
        layer.Forward(x).Sum().Backward();
        Assert.NotNull(x.Grad);
        Assert.Equal(layer.LowPrecisionBase!.StorageBytes, layer.BaseWeightBytes);
    }

    [Fact]
    public void ReadingTheWeightMaterializesATransientCopyThatTheNextForwardDrops()
    {
        var layer = new Linear(64, 32, rng: new Rng(44));
        layer.Freeze();
        layer.CastBase(BaseFormat.NF4);
        var nf4 = (Nf4Weight)layer.LowPrecisionBase!;
        var expected = new float[64 * 32];
        nf4.Dequantize(expected);
        Assert.Equal(expected, layer.Weight.ToArray());   // reads dequantize
        Assert.Equal(nf4.StorageBytes + 4L * 64 * 32, layer.BaseWeightBytes);
        using (GradMode.NoGrad()) layer.Forward(Tensor.Randn(new Rng(45), 1f, 2, 64));
        Assert.Equal(nf4.StorageBytes, layer.BaseWeightBytes);
        Assert.Same(nf4, layer.LowPrecisionBase);   // unchanged values: released, not re-quantized
        Assert.Equal(0, layer.Requantizations);
    }

    private static (TwoProjModel Model, float[] Dequantized, float[] Delta) QuantizedWithAdapter()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 5);
        new Rng(6).FillNormal(model.Q.Lora!.Adapters["default"].B.Data, 0, 0.5f);
        Assert.Equal(2, model.Lora.Quantize(BaseFormat.NF4));
        Assert.Equal(BaseFormat.NF4, model.Q.BaseFormat);
        var dequantized = new float[model.Q.Weight.Size];
        ((Nf4Weight)model.Q.LowPrecisionBase!).Dequantize(dequantized);
        return (model, dequantized, model.Q.Lora!.DeltaWeight("default").ToArray());
    }

    [Fact]
    public void MergeAndUnloadIntoAnNf4BaseRequantizesAndSaysSo()
    {
        var (model, dequantized, delta) = QuantizedWithAdapter();
        model.Lora.MergeAndUnload();
        var merged = dequantized.Zip(delta, (w, d) => w + d).ToArray();
        var expected = new float[merged.Length];
        new Nf4Weight(merged, TwoProjModel.Out, TwoProjModel.In).Dequantize(expected);
        Assert.Equal(["q_proj"], model.Lora.RequantizedLayers);   // v_proj's B is zero: its values did not change
        Assert.Equal(1, model.Q.Requantizations);
        Assert.Equal(BaseFormat.NF4, model.Q.BaseFormat);
        Assert.Equal(model.Q.LowPrecisionBase!.StorageBytes, model.Q.BaseWeightBytes);   // no fp32 copy left
        Assert.Equal(expected, model.Q.Weight.ToArray());
        Assert.NotEqual(merged, model.Q.Weight.ToArray());   // lossy: W + ΔW was rounded to the code book again
    }

    [Fact]
    public void DequantizingFirstMakesTheMergeExact()
    {
        var (model, dequantized, delta) = QuantizedWithAdapter();
        Assert.Equal(2, model.Lora.Quantize(BaseFormat.Fp32));
        Assert.Equal(BaseFormat.Fp32, model.Q.BaseFormat);
        Assert.Equal(dequantized, model.Q.Weight.ToArray());
        model.Lora.MergeAndUnload();
        var expected = (float[])dequantized.Clone();
        ElementwiseOps.AddInPlace(expected, delta);
        Assert.Equal(expected, model.Q.Weight.ToArray());
        Assert.Empty(model.Lora.RequantizedLayers);
    }

    [Fact]
    public void SavingAMergedQuantizedModelWritesDequantizedFp32Weights()
    {
        var (model, _, _) = QuantizedWithAdapter();
        model.Lora.MergeAndUnload();
        var path = Path.Combine(Path.GetTempPath(), $"loragen-merged-nf4-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.SaveWeights(path);
            using var file = SafetensorsFile.Open(path);
            Assert.Equal(SafetensorsDType.F32, file.Tensors.Single(t => t.Name == "q_proj.weight").DType);
            var expected = new float[model.Q.Weight.Size];
            ((Nf4Weight)model.Q.LowPrecisionBase!).Dequantize(expected);
            Assert.Equal(expected, file.LoadTensor("q_proj.weight").ToArray());
        }
        finally { File.Delete(path); }
        using (GradMode.NoGrad()) model.Forward(Tensor.Randn(new Rng(7), 1f, 3, TwoProjModel.In));
        Assert.Equal(model.Q.LowPrecisionBase!.StorageBytes, model.Q.BaseWeightBytes);   // the save's fp32 view is dropped
    }

    [Fact]
    public void MergeAndUnmergeOnAQuantizedBaseAreExactAndTheBaseStaysNf4()
    {
        var (model, dequantized, delta) = QuantizedWithAdapter();
        var nf4 = model.Q.LowPrecisionBase;
        model.Lora.Merge();
        Assert.Throws<InvalidOperationException>(() => model.Lora.Quantize(BaseFormat.NF4));
        var expected = (float[])dequantized.Clone();
        ElementwiseOps.AddInPlace(expected, delta);
        Assert.Equal(expected, model.Q.Weight.ToArray());   // merged into the dequantized copy: exact
        model.Lora.Unmerge();
        Assert.Equal(dequantized, model.Q.Weight.ToArray());
        using (GradMode.NoGrad()) model.Forward(Tensor.Randn(new Rng(7), 1f, 3, TwoProjModel.In));
        Assert.Same(nf4, model.Q.LowPrecisionBase);   // unchanged values: released, not re-quantized
        Assert.Equal(0, model.Q.Requantizations);
        Assert.Equal(nf4!.StorageBytes, model.Q.BaseWeightBytes);
    }
}
