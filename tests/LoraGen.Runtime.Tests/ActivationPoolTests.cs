using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// Recycled op outputs (Tensors/ActivationPool): an array is handed out again only once no tensor, reshape view or
/// saved memory over it is reachable; idle arrays are dropped; and training gives the same gradients, bit for bit,
/// with the pool off, on, and in stress mode (every size pooled, a collection before every rent — so an op that used
/// an input's span after dropping the input would read recycled data here).
/// </summary>
[Collection(nameof(GradPoolTests))]
public class ActivationPoolTests
{
    // Lengths no other test uses (tests in other classes rent concurrently from the same pool).
    private const int N1 = ActivationPool.MinLength + 7, N2 = ActivationPool.MinLength + 11, N3 = ActivationPool.MinLength + 13, N4 = ActivationPool.MinLength + 17;

    private static float[] ArrayOf(Tensor t) => MemoryMarshal.TryGetArray<float>(t.Storage, out var seg) ? seg.Array! : throw new InvalidOperationException("not array-backed");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Lease, float[] Array) RentAndDrop(int n)
    {
        var t = Tensor.Output(n);
        var lease = new WeakReference(MemoryMarshal.TryGetMemoryManager<float, PooledStorage>(t.Storage, out var m) ? m : null);
        Assert.NotNull(lease.Target);
        return (lease, ArrayOf(t));
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void AnArrayIsReusedOnlyOnceItsTensorIsUnreachable()
    {
        var held = Tensor.Output(N1);
        held.Data.Fill(3f);
        Collect();
        var other = Tensor.Output(N1);
        Assert.NotSame(ArrayOf(held), ArrayOf(other));           // held is alive: a second rent gets another array
        Assert.All(held.ToArray(), v => Assert.Equal(3f, v));

        var (lease, dropped) = RentAndDrop(N1);
        Collect();
        Assert.False(lease.IsAlive);
        var again = Tensor.Output(N1);
        Assert.Same(dropped, ArrayOf(again));                     // the dropped tensor's array comes back
        GC.KeepAlive(held);
        GC.KeepAlive(other);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Tensor View, Memory<float> Saved, float[] ViewArray, float[] SavedArray) ViewAndMemoryOfDroppedTensors()
    {
        var a = Tensor.Output(N2);
        a.Data.Fill(5f);
        var b = Tensor.Output(N2);
        b.Data.Fill(7f);
        return (a.Reshape(1, N2), b.Storage, ArrayOf(a), ArrayOf(b));
    }

    [Fact]
    public void AReshapeViewOrASavedMemoryKeepsTheArrayLeased()
    {
        var (view, saved, viewArray, savedArray) = ViewAndMemoryOfDroppedTensors();
        Collect();
        var fresh1 = Tensor.Output(N2);
        var fresh2 = Tensor.Output(N2);
        foreach (var f in new[] { fresh1, fresh2 })
        {
            Assert.NotSame(viewArray, ArrayOf(f));
            Assert.NotSame(savedArray, ArrayOf(f));
            f.Data.Fill(-1f);
        }
        Assert.All(view.ToArray(), v => Assert.Equal(5f, v));
        Assert.All(saved.ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void ArraysIdleFromOneCollectionToTheNextAreDropped()
    {
        _ = RentAndDrop(N3);
        Collect();
        Assert.Equal(1, ActivationPool.SlotCount(N3));
        for (int i = 0; i < ActivationPool.IdleCollectionsKept; i++)
        {
            ActivationPool.CollectNow();   // free, but kept for reuse for a few collections
            Assert.Equal(1, ActivationPool.SlotCount(N3));
        }
        ActivationPool.CollectNow();       // idle for too long: dropped
        Assert.Equal(0, ActivationPool.SlotCount(N3));
    }

    [Fact]
    public void SmallTensorsAndPublicFactoriesAreNotPooled()
    {
        Assert.False(MemoryMarshal.TryGetMemoryManager<float, PooledStorage>(Tensor.Output(ActivationPool.MinLength - 1).Storage, out _) && !ActivationPool.Stress);
        Assert.False(MemoryMarshal.TryGetMemoryManager<float, PooledStorage>(Tensor.Empty(N4).Storage, out _));
        Assert.False(MemoryMarshal.TryGetMemoryManager<float, PooledStorage>(Tensor.Zeros(N4).Storage, out _));
        if (ActivationPool.Enabled) Assert.True(MemoryMarshal.TryGetMemoryManager<float, PooledStorage>(Tensor.Output(N4).Storage, out _));
    }

    private static List<float[]> Train(bool enabled, bool stress)
    {
        var (wasEnabled, wasStress) = (ActivationPool.Enabled, ActivationPool.Stress);
        (ActivationPool.Enabled, ActivationPool.Stress) = (enabled, stress);
        try
        {
            const int B = 2, T = 24, C = 32, V = 40;
            var rng = new Rng(9);
            var w1 = Tensor.Randn(rng, 0.1f, C, C);
            var b1 = Tensor.Randn(rng, 0.1f, C);
            var g = Tensor.Randn(rng, 0.1f, C);
            var be = Tensor.Randn(rng, 0.1f, C);
            var w2 = Tensor.Randn(rng, 0.1f, V, C);
            var lora = (A: Tensor.Randn(rng, 0.1f, 4, C), B: Tensor.Randn(rng, 0.1f, C, 4));
            Tensor[] ps = [w1, b1, g, be, w2, lora.A, lora.B];
            foreach (var p in ps) p.RequiresGrad = true;
            var targets = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(V)).ToArray();
            var x = Tensor.Randn(rng, 1f, B, T, C);
            var grads = new List<float[]>();
            for (int step = 0; step < 3; step++)
            {
                var h = x.Linear(w1, b1).LayerNorm(g, be);
                var a = AttentionOps.MultiHeadAttention(h, h.Linear(lora.B.MatMul(lora.A)), h, heads: 4);
                var z = (a + h).Gelu(GeluApproximation.Tanh).Softmax();
                var loss = z.Reshape(B * T, C).Linear(w2).CrossEntropy(targets);
                grads.Add([loss.Item()]);
                loss.Backward();
                foreach (var p in ps)
                {
                    grads.Add(p.Grad!.ToArray());
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p.Grad!.Data, -0.1f, p.Data, p.Data);
                    p.Grad = null;
                }
            }
            return grads;
        }
        finally
        {
            (ActivationPool.Enabled, ActivationPool.Stress) = (wasEnabled, wasStress);
        }
    }

    [Fact]
    public void TrainingIsBitIdenticalWithThePoolOffOnAndUnderStress()
    {
        var off = Train(enabled: false, stress: false);
        var on = Train(enabled: true, stress: false);
        var stressed = Train(enabled: true, stress: true);
        Assert.Equal(off.Count, on.Count);
        for (int i = 0; i < off.Count; i++)
        {
            Assert.Equal(off[i], on[i]);
            Assert.Equal(off[i], stressed[i]);
        }
    }
}
