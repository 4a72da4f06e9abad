using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// Saved-for-backward accounting (GraphMemory) and the facade's MemoryReport: LoRA-FA keeps r·n floats per adapted
/// layer where LoRA keeps (d + r)·n, and every component of the report is counted from the actual tensors.
/// </summary>
public class MemoryAccountingTests
{
    private const int Rows = 48, In = 40, Out = 24, R = 4;

    private static (Tensor Output, Linear Layer) AdaptedForward(bool freezeA, float dropout)
    {
        var layer = new Linear(In, Out, rng: new Rng(51));
        layer.Freeze();
        var ad = layer.EnableLora("layer").Add("default", new LoraConfig(R, 8, Dropout: dropout), new Rng(52));
        ad.A.RequiresGrad = !freezeA;
        var x = Tensor.Randn(new Rng(53), 1f, Rows, In);
        x.RequiresGrad = true;   // as a hidden state inside a network: dX is needed
        return (layer.Forward(x), layer);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    public void LoraFaSavesOnlyTheRankRActivationForBackward(float dropout)
    {
        long Saved(bool freezeA)
        {
            var (y, layer) = AdaptedForward(freezeA, dropout);
            return GraphMemory.Measure(y, layer.Parameters()).SavedForBackwardBytes;
        }
        long lora = Saved(freezeA: false), loraFa = Saved(freezeA: true);
        long mask = dropout > 0 ? 4L * Rows * In : 0;   // dX still needs the dropout mask
        // The frozen base saves nothing (dX = dY·W needs W only). LoRA: h = x·Aᵀ [n, r] and x (or dropout(x)) [n, d].
        Assert.Equal(4L * Rows * (In + R) + mask, lora);
        // LoRA-FA: only h — the seed's r·n against (d + r)·n.
        Assert.Equal(4L * Rows * R + mask, loraFa);
    }

    [Fact]
    public void GraphMemoryCountsASharedStorageOnceAndLeavesParametersOut()
    {
        var x = Tensor.Randn(new Rng(54), 1f, 6, 5);
        var w = Tensor.Randn(new Rng(55), 1f, 3, 5);
        w.RequiresGrad = true;
        var y = x.Linear(w) + x.Linear(w);   // both linears save x (dW needs it): one storage
        var m = GraphMemory.Measure(y, [w]);
        Assert.Equal(3, m.Nodes);
        // linear ×2 save x once; the add reads no values (it holds its inputs' vertices only).
        Assert.Equal(4L * 6 * 5, m.SavedForBackwardBytes);
        Assert.Equal(m.SavedForBackwardBytes + 4L * 6 * 3, m.HeldByGraphBytes);   // the graph pins the saved items and the root
        var z = x.Linear(w).Relu();   // an op that declares nothing: its input counts as saved, and the node keeps it
        Assert.Equal(4L * 6 * 5 + 4L * 6 * 3, GraphMemory.Measure(z, [w]).SavedForBackwardBytes);
    }

    [Fact]
    public void MemoryReportCountsEachComponentFromTheTensors()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 8, config: new LoraOverride { FreezeA = true });
        model.Lora.Quantize(BaseFormat.NF4);
        var opt = new AdamW(model.Lora.Parameters(), lr: 1e-2f);
        int r = model.Q.Lora!.Adapters["default"].A.Dim(0);
        long a = 4L * r * TwoProjModel.In, b = 4L * TwoProjModel.Out * r;
        long nf4 = 2 * model.Q.LowPrecisionBase!.StorageBytes;

        var before = model.Lora.MemoryReport(opt);
        Assert.Equal(nf4, before.BaseNf4Bytes);
        Assert.Equal(2 * 4L * TwoProjModel.Out, before.BaseFp32Bytes);   // the two biases stay fp32
        Assert.Equal(0, before.TrainableBaseBytes);
        Assert.Equal(2 * (a + b), before.AdapterBytes);
        Assert.Equal(2 * b, before.TrainableAdapterBytes);   // LoRA-FA: B only
        Assert.Equal(0, before.GradientBytes);
        Assert.Equal(0, before.OptimizerStateBytes);
        Assert.Null(before.SavedActivationBytes);

        var x = Tensor.Randn(new Rng(9), 1f, 10, TwoProjModel.In);
        var loss = model.Forward(x).Sum();
        var during = model.Lora.MemoryReport(opt, loss);
        Assert.Equal(GraphMemory.Measure(loss, model.Parameters()).SavedForBackwardBytes, during.SavedActivationBytes);
        Assert.True(during.SavedActivationBytes >= 2 * 4L * 10 * r);   // at least h of both layers
        loss.Backward();
        opt.Step();
        var after = model.Lora.MemoryReport(opt);
        Assert.Equal(2 * b, after.GradientBytes);
        Assert.Equal(2 * 2 * b, after.OptimizerStateBytes);   // Adam: two moments per trained element
        Assert.Equal(after.BaseBytes + after.AdapterBytes + after.GradientBytes + after.OptimizerStateBytes, after.TotalBytes);
        var table = after.ToString();
        Assert.Contains("base weights, NF4 (frozen)", table);
        Assert.Contains("optimizer state", table);
    }
}
