using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>Graph recording, no-grad scopes, gradient accumulation and frozen tensors.</summary>
public class AutogradTests
{
    [Fact]
    public void FrozenWeightGetsNoGradientButInputDoes()
    {
        var rng = new Rng(1);
        var x = Tensor.Randn(rng, 1, 4, 3);
        x.RequiresGrad = true;
        var w = Tensor.Randn(rng, 1, 5, 3);   // frozen: RequiresGrad stays false
        var b = Tensor.Randn(rng, 1, 5);
        x.Linear(w, b).Sum().Backward();
        Assert.Null(w.Grad);
        Assert.Null(b.Grad);
        Assert.NotNull(x.Grad);
        // d(sum(x·Wᵀ))/dx[i, j] = Σ_o W[o, j]
        for (int j = 0; j < 3; j++)
        {
            float colSum = 0;
            for (int o = 0; o < 5; o++) colSum += w.Data[o * 3 + j];
            Assert.Equal(colSum, x.Grad!.Data[j], 5);
        }
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        var w = Tensor.Ones(3);
        w.RequiresGrad = true;
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = (w * 2f).Sum();
        }
        Assert.True(GradMode.IsEnabled);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void GradientsAccumulateAcrossBackwardCallsAndThroughSharedInputs()
    {
        var w = Tensor.FromArray([1f, 2f, 3f], 3);
        w.RequiresGrad = true;
        (w * w).Sum().Backward();              // 2w
        (w + w).Sum().Backward();              // + 2
        Assert.Equal(new[] { 4f, 6f, 8f }, w.Grad!.ToArray());
    }

    [Fact]
    public void BackwardReleasesTheGraph()
    {
        var w = Tensor.Ones(2);
        w.RequiresGrad = true;
        var h = w * 3f;
        var loss = h.Sum();
        loss.Backward();
        Assert.Null(h.GradFn);
        Assert.Null(h.Grad);
        Assert.NotNull(w.Grad);
    }

    [Fact]
    public void NonScalarBackwardNeedsAGradient()
    {
        var w = Tensor.Ones(2);
        w.RequiresGrad = true;
        var ex = Assert.Throws<InvalidOperationException>(() => (w * 2f).Backward());
        Assert.Contains("[2]", ex.Message);
    }

    [Fact]
    public void ReshapeIsAViewSharingStorage()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var v = x.Reshape(3, -1);
        Assert.Equal(new[] { 3, 2 }, v.Shape.ToArray());
        v.Data[0] = 42f;
        Assert.Equal(42f, x.Data[0]);
    }

    [Fact]
    public void RngIsDeterministic()
    {
        var a = Tensor.Randn(new Rng(3), 1, 100);
        var b = Tensor.Randn(new Rng(3), 1, 100);
        var c = Tensor.Randn(new Rng(4), 1, 100);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
        double mean = a.ToArray().Average();
        Assert.InRange(mean, -0.3, 0.3);
    }
}
