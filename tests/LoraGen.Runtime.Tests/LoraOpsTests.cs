using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The fused LoRA op against the same computation written with separate ops, and by finite differences.</summary>
public class LoraOpsTests
{
    private static readonly Rng R = new(21);

    [Fact]
    public void GradientsMatchFiniteDifferences() =>
        GradCheckTests.GradCheck(t => LoraOps.LoraLinear(t[0], t[1], t[2], t[3], 1.5f, 0f, new Rng(1), training: true),
            GradCheckTests.Input(R, 2, 3, 5), GradCheckTests.Input(R, 2, 3, 7), GradCheckTests.Input(R, 2, 5), GradCheckTests.Input(R, 7, 2));

    [Fact]
    public void GradientsWithDropoutMatchFiniteDifferences() =>
        // A fresh Rng per call: every evaluation draws the same mask.
        GradCheckTests.GradCheck(t => LoraOps.LoraLinear(t[0], t[1], t[2], t[3], 0.5f, 0.3f, new Rng(5), training: true),
            GradCheckTests.Input(R, 4, 6), GradCheckTests.Input(R, 4, 3), GradCheckTests.Input(R, 3, 6), GradCheckTests.Input(R, 3, 3));

    [Theory]
    [InlineData(0f, true)]
    [InlineData(0.25f, true)]
    [InlineData(0.25f, false)]
    public void EqualsTheUnfusedComputation(float p, bool training)
    {
        var rng = new Rng(9);
        // Odd sizes: 3×37 rows, in 45, out 29, rank 5.
        var x = Tensor.Randn(rng, 1f, 3, 37, 45);
        var y = Tensor.Randn(rng, 1f, 3, 37, 29);
        var a = Tensor.Randn(rng, 0.3f, 5, 45);
        var b = Tensor.Randn(rng, 0.3f, 29, 5);
        var g = Tensor.Randn(rng, 1f, 3, 37, 29);
        Tensor[] Leaves() => [x.Clone(), y.Clone(), a.Clone(), b.Clone()];
        var fused = Leaves();
        var plain = Leaves();
        foreach (var t in fused.Concat(plain)) t.RequiresGrad = true;

        var outFused = LoraOps.LoraLinear(fused[0], fused[1], fused[2], fused[3], 2f, p, new Rng(42), training);
        var outPlain = plain[1] + plain[0].Dropout(p, new Rng(42), training).Linear(plain[2]).Scale(2f).Linear(plain[3]);
        TestUtil.AssertClose(outPlain, outFused, 1e-5f, "output");
        outFused.Backward(g.Clone());
        outPlain.Backward(g.Clone());
        string[] names = ["dx", "dy", "dA", "dB"];
        for (int i = 0; i < 4; i++) TestUtil.AssertClose(plain[i].Grad!, fused[i].Grad!, 1e-5f, names[i]);
    }

    [Fact]
    public void FrozenInputsGetNoGradient()
    {
        var rng = new Rng(2);
        var x = Tensor.Randn(rng, 1f, 4, 8);
        var y = Tensor.Randn(rng, 1f, 4, 6);
        var a = Tensor.Randn(rng, 1f, 2, 8);
        var b = Tensor.Randn(rng, 1f, 6, 2);
        a.RequiresGrad = b.RequiresGrad = true;
        LoraOps.LoraLinear(x, y, a, b, 1f, 0f, rng, training: true).Sum().Backward();
        Assert.Null(x.Grad);
        Assert.Null(y.Grad);
        Assert.NotNull(a.Grad);
        Assert.NotNull(b.Grad);
    }

    [Fact]
    public void RejectsMismatchedShapes()
    {
        var x = Tensor.Zeros(4, 8);
        var y = Tensor.Zeros(4, 6);
        Assert.Throws<ShapeMismatchException>(() => LoraOps.LoraLinear(x, y, Tensor.Zeros(2, 7), Tensor.Zeros(6, 2), 1f, 0f, new Rng(1), true));
        Assert.Throws<ShapeMismatchException>(() => LoraOps.LoraLinear(x, y, Tensor.Zeros(2, 8), Tensor.Zeros(6, 3), 1f, 0f, new Rng(1), true));
    }

    [Fact]
    public void GradientHandOffKeepsSharedInputsCorrect()
    {
        // x feeds a reshape and an add twice: the reshape's and the add's gradient hand-off must not alias buffers.
        GradCheckTests.GradCheck(t =>
        {
            var v = t[0].Reshape(6, 2);
            var s = (v + v) + t[1];
            return s.Reshape(3, 4).Scale(2f) + t[0].Reshape(3, 4);
        }, GradCheckTests.Input(R, 2, 6), GradCheckTests.Input(R, 6, 2));
    }
}
