using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using MTensor = LoraGen.Tensors.Tensor;
using TTensor = TorchSharp.torch.Tensor;

namespace LoraGen.TorchSharp.Tests.Parity;

/// <summary>
/// libtorch as a second referee for the managed runtime (beside the PyTorch 1.13 fixtures of LoraGen.Runtime.Tests):
/// every op runs on random float32 inputs of random shapes (three seeds each) in the runtime, and on the same values
/// in float64 in libtorch in-process; the output and the gradient of every input for a random upstream gradient must
/// agree within <see cref="Tol"/> relative (|Δ| ≤ tol·|ref| + tol·rms(ref), the fixture tests' measure). The float64
/// reference is the exact answer rounded once, so the bound measures only the runtime's own float32 error. It holds
/// for every op, long reductions included (K = 700 in a matmul, 512 in a linear), where the fixture tests allow 1e-4.
/// </summary>
public class OpParityTests
{
    /// <summary>Relative tolerance for every op.</summary>
    public const double Tol = 1e-5;

    /// <summary>Random shapes and values for one seed; the managed inputs are float32 leaves that require gradients.</summary>
    private sealed class Case(int seed)
    {
        private readonly Random _random = new(seed);
        public readonly Rng Rng = new((ulong)seed * 7919 + 17);

        public int Dim(int lo, int hi) => _random.Next(lo, hi + 1);

        public MTensor Rand(float std, params int[] shape) => MTensor.Randn(Rng, std, shape);

        public int[] Ints(int count, int maxExclusive) => Enumerable.Range(0, count).Select(_ => _random.Next(maxExclusive)).ToArray();
    }

    /// <summary>Runs <paramref name="managed"/> and <paramref name="reference"/> on the same inputs and compares output and gradients.</summary>
    private static void Check(string name, Case c, MTensor[] inputs, Func<MTensor[], MTensor> managed, Func<TTensor[], TTensor> reference, double tol = Tol)
    {
        using var scope = NewDisposeScope();
        foreach (var x in inputs) x.RequiresGrad = true;
        var leaves = inputs.Select(x => Referee.ToTorch(x, ScalarType.Float64, requiresGrad: true)).ToArray();
        var shapes = string.Join(" ", inputs.Select(x => x.ShapeString));

        var y = managed(inputs);
        var ty = reference(leaves);
        Referee.AssertClose(ty, y, tol, $"{name} {shapes} output");

        var gout = y.Rank == 0 ? MTensor.Scalar(1.3f) : c.Rand(1f, y.Shape.ToArray());
        y.Backward(gout);
        ty.backward([Referee.ToTorch(gout)]);
        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.NotNull(inputs[i].Grad);
            using var g = leaves[i].grad;
            Assert.NotNull(g);
            Referee.AssertClose(g!, inputs[i].Grad!, tol, $"{name} {shapes} gradient of input {i}");
        }
    }

    public static TheoryData<int> Seeds => [1, 2, 3];

    [Theory, MemberData(nameof(Seeds))]
    public void MatMulBatched(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 3), h = c.Dim(1, 3), m = c.Dim(1, 40), k = c.Dim(1, 64), n = c.Dim(1, 40);
        Check("matmul", c, [c.Rand(1, b, h, m, k), c.Rand(1, b, h, k, n)], x => x[0].MatMul(x[1]), t => t[0].matmul(t[1]));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void MatMulTransposed(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 4), m = c.Dim(1, 40), k = c.Dim(1, 64), n = c.Dim(1, 40);
        Check("matmul transA", c, [c.Rand(1, b, k, m), c.Rand(1, b, k, n)], x => x[0].MatMul(x[1], transA: true), t => t[0].transpose(-1, -2).matmul(t[1]));
        Check("matmul transB", c, [c.Rand(1, b, m, k), c.Rand(1, b, n, k)], x => x[0].MatMul(x[1], transB: true), t => t[0].matmul(t[1].transpose(-1, -2)));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void MatMulShared2D(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 4), m = c.Dim(1, 40), k = c.Dim(1, 64), n = c.Dim(1, 40);
        Check("matmul shared", c, [c.Rand(1, b, m, k), c.Rand(1, k, n)], x => x[0].MatMul(x[1]), t => t[0].matmul(t[1]));
        Check("matmul shared transB", c, [c.Rand(1, b, m, k), c.Rand(1, n, k)], x => x[0].MatMul(x[1], transB: true), t => t[0].matmul(t[1].t()));
    }

    [Fact]
    public void MatMulLongReduction()
    {
        var c = new Case(4);
        Check("matmul long", c, [c.Rand(1, 33, 700), c.Rand(1, 700, 37)], x => x[0].MatMul(x[1]), t => t[0].matmul(t[1]));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Linear(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 3), t = c.Dim(1, 20), i = c.Dim(1, 64), o = c.Dim(1, 48);
        Check("linear", c, [c.Rand(1, b, t, i), c.Rand(0.2f, o, i), c.Rand(1, o)], x => x[0].Linear(x[1], x[2]), r => nn.functional.linear(r[0], r[1], r[2]));
        Check("linear no bias", c, [c.Rand(1, t, i), c.Rand(0.2f, o, i)], x => x[0].Linear(x[1]), r => nn.functional.linear(r[0], r[1]));
    }

    [Fact]
    public void LinearLongReduction()
    {
        var c = new Case(5);
        Check("linear long", c, [c.Rand(1, 67, 512), c.Rand(1, 45, 512), c.Rand(1, 45)], x => x[0].Linear(x[1], x[2]), r => nn.functional.linear(r[0], r[1], r[2]));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void ElementwiseWithTrailingBroadcast(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 4), b = c.Dim(1, 6), d = c.Dim(1, 33);
        Check("add", c, [c.Rand(1, a, b, d), c.Rand(1, d)], x => x[0].Add(x[1]), t => t[0] + t[1]);
        Check("sub", c, [c.Rand(1, a, b, d), c.Rand(1, b, d)], x => x[0].Sub(x[1]), t => t[0] - t[1]);
        Check("mul", c, [c.Rand(1, a, b, d), c.Rand(1, d)], x => x[0].Mul(x[1]), t => t[0] * t[1]);
        Check("mul same shape", c, [c.Rand(1, a, d), c.Rand(1, a, d)], x => x[0].Mul(x[1]), t => t[0] * t[1]);
        Check("scale", c, [c.Rand(1, a, b, d)], x => x[0].Scale(-0.37f), t => t[0] * -0.37f);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Reductions(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 5), b = c.Dim(1, 30);
        Check("sum", c, [c.Rand(1, a, b)], x => x[0].Sum(), t => t[0].sum());
        Check("mean", c, [c.Rand(1, a, b)], x => x[0].Mean(), t => t[0].mean());
        Check("sum last dim", c, [c.Rand(1, a, 3, b)], x => x[0].SumLastDim(), t => t[0].sum(-1));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Activations(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 4), d = c.Dim(1, 97);
        Check("gelu", c, [c.Rand(3, a, d)], x => x[0].Gelu(), t => nn.functional.gelu(t[0]));
        Check("gelu tanh", c, [c.Rand(3, a, d)], x => x[0].Gelu(GeluApproximation.Tanh), t => nn.functional.gelu(t[0], GELU.Approximate.tanh));
        Check("relu", c, [c.Rand(3, a, d)], x => x[0].Relu(), t => nn.functional.relu(t[0]));
        Check("silu", c, [c.Rand(3, a, d)], x => x[0].Silu(), t => nn.functional.silu(t[0]));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void SoftmaxAndLogSoftmax(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 4), b = c.Dim(1, 5), d = c.Dim(1, 70);
        Check("softmax", c, [c.Rand(3, a, b, d)], x => x[0].Softmax(), t => softmax(t[0], -1));
        Check("log_softmax", c, [c.Rand(3, a, b, d)], x => x[0].LogSoftmax(), t => nn.functional.log_softmax(t[0], -1));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void LayerNorm(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 4), b = c.Dim(1, 6), d = c.Dim(2, 96);
        var shift = MTensor.Full(0.5f, d);
        Check("layer_norm", c, [c.Rand(2, a, b, d).Add(shift), c.Rand(1, d), c.Rand(1, d)],
            x => x[0].LayerNorm(x[1], x[2]), t => nn.functional.layer_norm(t[0], [d], t[1], t[2], 1e-5));
        Check("layer_norm no bias", c, [c.Rand(2, a, d), c.Rand(1, d)],
            x => x[0].LayerNorm(x[1], null), t => nn.functional.layer_norm(t[0], [d], t[1], null, 1e-5));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void RmsNorm(int seed)
    {
        var c = new Case(seed);
        int a = c.Dim(1, 4), b = c.Dim(1, 6), d = c.Dim(2, 96);
        // libtorch's rms_norm as composed ops in float64: x · rsqrt(mean(x²) + eps) · w.
        Check("rms_norm", c, [c.Rand(2, a, b, d), c.Rand(1, d)], x => x[0].RmsNorm(x[1]),
            t => t[0] * (t[0].pow(2).mean([-1L], keepdim: true) + 1e-6).rsqrt() * t[1]);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void ScaledDotProductAttention(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 2), h = c.Dim(1, 3), t = c.Dim(1, 80), d = c.Dim(1, 32);   // T up to 80 crosses the 32-row causal blocks
        MTensor[] Qkv() => [c.Rand(1, b, h, t, d), c.Rand(1, b, h, t, d), c.Rand(1, b, h, t, d)];
        Check("attention causal", c, Qkv(), x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2]),
            r => nn.functional.scaled_dot_product_attention(r[0], r[1], r[2], is_casual: true));
        Check("attention full", c, Qkv(), x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2], causal: false),
            r => nn.functional.scaled_dot_product_attention(r[0], r[1], r[2], is_casual: false));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void CrossEntropyWithIgnoreIndex(int seed)
    {
        var c = new Case(seed);
        int b = c.Dim(1, 3), t = c.Dim(2, 16), classes = c.Dim(2, 100);
        var targets = c.Ints(b * t, classes);
        targets[0] = -100;   // at least one ignored row, and at least one counted
        using var tt = tensor(targets.Select(v => (long)v).ToArray(), [b * t]);
        Check("cross_entropy", c, [c.Rand(2, b, t, classes)], x => x[0].CrossEntropy(targets),
            r => nn.functional.cross_entropy(r[0].reshape(-1, classes), tt, ignore_index: -100));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Embedding(int seed)
    {
        var c = new Case(seed);
        int vocab = c.Dim(2, 60), dim = c.Dim(1, 40), b = c.Dim(1, 3), t = c.Dim(1, 20);
        var ids = c.Ints(b * t, vocab);
        ids[^1] = ids[0];   // a repeated id, so the backward must accumulate
        using var tids = tensor(ids.Select(v => (long)v).ToArray(), [b * t]);
        Check("embedding", c, [c.Rand(1, vocab, dim)], x => EmbeddingOps.Embedding(x[0], ids, b, t),
            r => r[0].index_select(0, tids).reshape(b, t, dim));
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var c = new Case(9);
        var a = c.Rand(1, 3, 4);
        a.RequiresGrad = true;
        using (GradMode.NoGrad())
        {
            var y = a.Scale(2f);
            Assert.Null(y.GradFn);
        }
    }
}
