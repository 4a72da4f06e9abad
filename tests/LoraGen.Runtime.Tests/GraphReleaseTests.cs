using System.Runtime.CompilerServices;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// The recorded graph pins only what a backward reads: nodes point at their inputs' autograd identities (vertices),
/// so a frozen Linear's input, a residual sum or a GELU output feeding a frozen projection are freed once the forward
/// code drops them, and LoRA-FA frees the adapted layer's input (its backward keeps the rank-r A·x only). Each case
/// checks the collection with a weak reference after a full GC, and that the gradients are still right.
/// </summary>
public class GraphReleaseTests
{
    private const int Rows = 12, In = 10, Hidden = 14, Out = 6, R = 3;

    /// <summary>A frozen two-layer MLP with LoRA on the first layer: x → fc (LoRA) → GELU → proj; x needs dX.</summary>
    private sealed class Net
    {
        public readonly Linear Fc = new(In, Hidden, rng: new Rng(61));
        public readonly Linear Proj = new(Hidden, Out, rng: new Rng(62));
        public readonly LoraAdapter Adapter;

        public Net(bool freezeA)
        {
            Fc.Freeze();
            Proj.Freeze();
            Adapter = Fc.EnableLora("fc").Add("default", new LoraConfig(R, 6), new Rng(63));
            Adapter.A.RequiresGrad = !freezeA;
            Tensor.Randn(new Rng(64), 0.3f, Hidden, R).Data.CopyTo(Adapter.B.Data);   // B ≠ 0, so dA and dx are not 0
        }
    }

    /// <summary>
    /// Runs the forward in a frame of its own (no local outlives it, also in Debug builds) and hands back the output
    /// and weak references to the intermediates: ln = the adapted layer's input, fcOut, geluOut.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor Y, WeakReference Input, WeakReference Hidden, WeakReference Gelu) Forward(Net net, Tensor x)
    {
        var input = x.Scale(1f);   // an intermediate: what a layer norm would hand the adapted layer
        var hidden = net.Fc.Forward(input);
        var gelu = hidden.Gelu(GeluApproximation.Tanh);
        var y = net.Proj.Forward(gelu) + net.Proj.Forward(gelu);   // the add reads no values either
        return (y, new WeakReference(input), new WeakReference(hidden), new WeakReference(gelu));
    }

    private static void FullGc()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheGraphKeepsOnlyWhatTheBackwardReads(bool freezeA)
    {
        var net = new Net(freezeA);
        var x = Tensor.Randn(new Rng(65), 1f, Rows, In);
        x.RequiresGrad = true;
        var (y, input, hidden, gelu) = Forward(net, x);
        FullGc();
        Assert.False(gelu.IsAlive, "a GELU output read only by a frozen projection is held by the graph");
        Assert.True(hidden.IsAlive, "GELU's backward reads its input");
        // LoRA: dA = dhᵀ·x needs the adapted layer's input; LoRA-FA keeps h = A·x [n, r] instead.
        Assert.Equal(!freezeA, input.IsAlive);
        y.Backward(Tensor.Ones(Rows, Out));
        Assert.NotNull(x.Grad);
        Assert.NotNull(net.Adapter.B.Grad);
        Assert.Equal(!freezeA, net.Adapter.A.Grad is not null);
    }

    [Fact]
    public void LoraFaGradientsWithTheInputFreedEqualLorasExactly()
    {
        (float[] Dx, float[] Db) Run(bool freezeA)
        {
            var net = new Net(freezeA);
            var x = Tensor.Randn(new Rng(65), 1f, Rows, In);
            x.RequiresGrad = true;
            var (y, _, _, _) = Forward(net, x);
            FullGc();
            y.Backward(Tensor.Randn(new Rng(66), 1f, Rows, Out));
            return (x.Grad!.ToArray(), net.Adapter.B.Grad!.ToArray());
        }
        var lora = Run(freezeA: false);
        var fa = Run(freezeA: true);
        Assert.Equal(lora.Db, fa.Db);   // dB = s·gᵀ·h from the same h, bit for bit
        Assert.Equal(lora.Dx, fa.Dx);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientsThroughFreedIntermediatesMatchFiniteDifferences(bool freezeA)
    {
        var net = new Net(freezeA);
        var trained = freezeA ? new[] { net.Adapter.B } : [net.Adapter.A, net.Adapter.B];
        var x = GradCheckTests.Input(new Rng(67), Rows, In);
        // The inputs under check: x and the trained adapter matrices; every intermediate is dropped before backward.
        GradCheckTests.GradCheck(t =>
        {
            var y = Forward(net, t[0]).Y;
            FullGc();
            return y;
        }, [x, .. trained]);
        if (freezeA) Assert.Null(net.Adapter.A.Grad);
    }

    [Fact]
    public void FrozenLinearDoesNotSaveItsInputAndATrainedOneDoes()
    {
        var w = Tensor.Randn(new Rng(68), 1f, Out, In);
        [MethodImpl(MethodImplOptions.NoInlining)]
        static (Tensor Y, WeakReference X) Run(Tensor w, Tensor x0)
        {
            var x = x0.Scale(2f);
            return (x.Linear(w), new WeakReference(x));
        }
        var x0 = Tensor.Randn(new Rng(69), 1f, Rows, In);
        x0.RequiresGrad = true;
        var frozen = Run(w, x0);
        FullGc();
        Assert.False(frozen.X.IsAlive);
        Assert.Equal(4L * Out * In, GraphMemory.Measure(frozen.Y, [x0]).SavedForBackwardBytes);   // W only: x0 is the scale's (left out)
        frozen.Y.Sum().Backward();
        // dX = 2 · 1ᵀ·W: every row of x0's gradient is twice W's column sums.
        for (int c = 0; c < In; c++)
        {
            float col = 0;
            for (int o = 0; o < Out; o++) col += w.Data[o * In + c];
            Assert.Equal(2 * col, x0.Grad!.Data[c], 4);
        }
        w.RequiresGrad = true;
        var trained = Run(w, x0);
        FullGc();
        Assert.True(trained.X.IsAlive);   // dW = dYᵀ·X reads it
        GC.KeepAlive(trained.Y);
        GC.KeepAlive(frozen.Y);
    }

    [Fact]
    public void AReshapeViewDoesNotPinItsSource()
    {
        var w = Tensor.Randn(new Rng(70), 1f, Out, In);
        [MethodImpl(MethodImplOptions.NoInlining)]
        static (Tensor Y, WeakReference Source) Run(Tensor w, Tensor x0)
        {
            var source = x0.Scale(3f);                    // [2, Rows/2, In], an intermediate
            var flat = source.Reshape(Rows, In);           // a view of its storage
            return (flat.Linear(w), new WeakReference(source));
        }
        var x0 = Tensor.Randn(new Rng(71), 1f, 2, Rows / 2, In);
        x0.RequiresGrad = true;
        var (y, source) = Run(w, x0);
        FullGc();
        Assert.False(source.IsAlive);
        y.Sum().Backward();
        for (int c = 0; c < In; c++)   // dX0 = 3 · 1ᵀ·W in every row
        {
            float col = 0;
            for (int o = 0; o < Out; o++) col += w.Data[o * In + c];
            Assert.Equal(3 * col, x0.Grad!.Data[(Rows - 1) * In + c], 4);
        }
    }
}
