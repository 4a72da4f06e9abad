using LoraGen.Optim;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>Optimizers against torch.optim on fixtures (Fixtures/make_runtime_fixtures.py).</summary>
public class OptimTests
{
    private static readonly Lazy<SafetensorsFile> Fixture = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "optim.safetensors")));

    private static Tensor Load(string key) => Fixture.Value.LoadTensor(key);

    private static Tensor Step(Tensor grads, int t)
    {
        int n = grads.Size / grads.Dim(0);
        return Tensor.FromArray(grads.Data.Slice(t * n, n).ToArray(), grads.Shape[1..].ToArray());
    }

    private static void AssertWithin(Tensor expected, Tensor actual, float tol, string what)
    {
        for (int i = 0; i < expected.Size; i++)
            Assert.True(Math.Abs(expected.Data[i] - actual.Data[i]) <= tol * (1 + Math.Abs(expected.Data[i])),
                $"{what}[{i}]: {actual.Data[i]:G9}, torch {expected.Data[i]:G9}");
    }

    [Fact]
    public void AdamWMatchesTorchOver100StepsWithTwoGroups()
    {
        var p1 = Load("adamw.p1.init");
        var p2 = Load("adamw.p2.init");
        p1.RequiresGrad = p2.RequiresGrad = true;
        var opt = new AdamW([new ParamGroup([p1], 1e-2f, 0.1f), new ParamGroup([p2], 3e-2f, 0f)]);
        var g1 = Load("adamw.p1.grads");
        var g2 = Load("adamw.p2.grads");
        for (int t = 0; t < 100; t++)
        {
            p1.Grad = Step(g1, t);
            p2.Grad = Step(g2, t);
            opt.Step();
        }
        AssertWithin(Load("adamw.p1.final"), p1, 1e-6f, "p1");
        AssertWithin(Load("adamw.p2.final"), p2, 1e-6f, "p2");
        Assert.NotEqual(Load("adamw.p1.init").ToArray(), p1.ToArray());
    }

    [Fact]
    public void SgdMomentumMatchesTorch()
    {
        var p = Load("sgd.p.init");
        var opt = new Sgd([p], lr: 0.05f, momentum: 0.9f, dampening: 0.1f, weightDecay: 0.01f);
        var g = Load("sgd.p.grads");
        for (int t = 0; t < 50; t++)
        {
            p.Grad = Step(g, t);
            opt.Step();
        }
        AssertWithin(Load("sgd.p.final"), p, 1e-5f, "p");
    }

    [Fact]
    public void ClipGradNormMatchesTorch()
    {
        var a = Tensor.Zeros(5, 3);
        var b = Tensor.Zeros(4);
        a.Grad = Load("clip.g1");
        b.Grad = Load("clip.g2");
        float norm = GradClip.ClipGradNorm([a, b], 1.5f);
        Assert.Equal(Load("clip.norm").Item(), norm, 5);
        AssertWithin(Load("clip.g1.clipped"), a.Grad, 1e-6f, "g1");
        AssertWithin(Load("clip.g2.clipped"), b.Grad, 1e-6f, "g2");
    }

    [Fact]
    public void CosineScheduleWarmsUpThenDecays()
    {
        var s = new CosineSchedule(warmupSteps: 10, totalSteps: 110, minFactor: 0.1f);
        Assert.Equal(0.1f, s.Factor(0), 6);
        Assert.Equal(1f, s.Factor(9), 6);
        Assert.Equal(1f, s.Factor(10), 6);
        Assert.Equal(0.55f, s.Factor(60), 5);
        Assert.Equal(0.1f, s.Factor(110), 6);
        var w = Tensor.Zeros(1);
        var opt = new AdamW([w], lr: 2e-3f);
        s.Apply(opt, 60);
        Assert.Equal(1.1e-3f, opt.Groups[0].Lr, 7);
    }
}
