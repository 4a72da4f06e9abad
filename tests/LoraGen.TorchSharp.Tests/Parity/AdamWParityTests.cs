using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Optim;
using AdamW = LoraGen.Optim.AdamW;
using ParamGroup = LoraGen.Optim.ParamGroup;
using LoraGen.Tensors;
using Parameter = TorchSharp.Modules.Parameter;
using TorchAdamW = TorchSharp.Modules.AdamW;
using Xunit;
using static TorchSharp.torch;
using MTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests.Parity;

/// <summary>
/// The runtime's AdamW against TorchSharp's (libtorch ops, float64) over several steps, two parameter groups with
/// different learning rates and weight decay, gradients from a backward pass on both sides. After every step the
/// parameters must agree within 1e-5 relative.
/// </summary>
public class AdamWParityTests
{
    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 12)]
    public void AdamWMatchesLibTorchStepForStep(int seed, int steps)
    {
        using var scope = NewDisposeScope();
        var random = new Random(seed);
        var rng = new Rng((ulong)seed);
        int[] shape1 = [random.Next(1, 9), random.Next(1, 17)], shape2 = [random.Next(1, 33)];
        var p1 = MTensor.Randn(rng, 1f, shape1);
        var p2 = MTensor.Randn(rng, 1f, shape2);
        p1.RequiresGrad = p2.RequiresGrad = true;
        var initial1 = p1.ToArray();
        var t1 = new Parameter(Referee.ToTorch(p1));
        var t2 = new Parameter(Referee.ToTorch(p2));

        var managed = new AdamW([new ParamGroup([p1], 1e-2f, 0.1f), new ParamGroup([p2], 3e-2f, 0f)], beta1: 0.9f, beta2: 0.999f, eps: 1e-8f);
        var reference = optim.AdamW([new TorchAdamW.ParamGroup([t1], lr: 1e-2, weight_decay: 0.1), new TorchAdamW.ParamGroup([t2], lr: 3e-2, weight_decay: 0)],
            beta1: 0.9, beta2: 0.999, eps: 1e-8);

        for (int step = 0; step < steps; step++)
        {
            // loss = Σ c1·p1 + Σ c2·p2², so both gradients depend on the parameters (p2's on its current value).
            var c1 = MTensor.Randn(rng, 1f, shape1);
            var c2 = MTensor.Randn(rng, 1f, shape2);
            managed.ZeroGrad();
            p1.Mul(c1).Sum().Add(p2.Mul(p2).Mul(c2).Sum()).Backward();
            managed.Step();

            reference.zero_grad();
            using var loss = (t1 * Referee.ToTorch(c1)).sum() + (t2 * t2 * Referee.ToTorch(c2)).sum();
            loss.backward();
            reference.step();

            Referee.AssertClose(t1, p1, 1e-5, $"p1 {p1.ShapeString} after step {step + 1}");
            Referee.AssertClose(t2, p2, 1e-5, $"p2 {p2.ShapeString} after step {step + 1}");
        }
        Assert.NotEqual(initial1, p1.ToArray());
    }
}
