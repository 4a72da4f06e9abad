using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The gradient pool is process-wide: its tests run alone.</summary>
[CollectionDefinition(nameof(GradPoolTests), DisableParallelization = true)]
public class GradPoolCollection;

/// <summary>
/// Recycled gradient storage (Tensors/GradPool): training steps give the same gradients, bit for bit, with the pool on
/// and off — including hand-offs (reshape, add) whose storage must not be recycled while an input still owns it — and a
/// warm pool serves the backward's buffers instead of allocating them.
/// </summary>
[Collection(nameof(GradPoolTests))]
public class GradPoolTests
{
    private const int B = 4, T = 40, C = 64, V = 48;

    private sealed class Net
    {
        private readonly Tensor _w1, _b1, _gamma, _beta, _w2;
        private readonly int[] _targets;

        public Net()
        {
            var rng = new Rng(5);
            _w1 = Tensor.Randn(rng, 0.1f, C, C);
            _b1 = Tensor.Randn(rng, 0.1f, C);
            _gamma = Tensor.Randn(rng, 0.1f, C);
            _beta = Tensor.Randn(rng, 0.1f, C);
            _w2 = Tensor.Randn(rng, 0.1f, V, C);
            foreach (var p in Params) p.RequiresGrad = true;
            _targets = Enumerable.Range(0, B * T).Select(_ => rng.NextInt(V)).ToArray();
            X = Tensor.Randn(rng, 1f, B, T, C);
        }

        public Tensor X { get; }

        public Tensor[] Params => [_w1, _b1, _gamma, _beta, _w2];

        /// <summary>One forward and backward; every op here has a [B·T, C]-sized gradient (above the pool's minimum).</summary>
        public void Step()
        {
            var h = X.Reshape(B * T, C).Linear(_w1, _b1).LayerNorm(_gamma, _beta).Reshape(B, T, C);   // reshape hand-offs
            var a = AttentionOps.MultiHeadAttention(h, h, h, heads: 4);
            var z = (a + h).Gelu(GeluApproximation.Tanh);                                             // add hand-off
            z.Reshape(B * T, C).Linear(_w2).CrossEntropy(_targets).Backward();
        }

        /// <summary>Plain SGD and zeroed gradients, so later steps see different weights.</summary>
        public float[][] UpdateAndCollect()
        {
            var grads = Params.Select(p => p.Grad!.ToArray()).ToArray();
            foreach (var p in Params)
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p.Grad!.Data, -0.1f, p.Data, p.Data);
                p.Grad = null;
            }
            return grads;
        }
    }

    private static List<float[][]> Train(bool pooled, int steps)
    {
        bool was = GradPool.Enabled;
        GradPool.Enabled = pooled;
        try
        {
            GradPool.Clear();
            var net = new Net();
            var all = new List<float[][]>();
            for (int i = 0; i < steps; i++)
            {
                net.Step();
                all.Add(net.UpdateAndCollect());
            }
            return all;
        }
        finally { GradPool.Enabled = was; }
    }

    [Fact]
    public void PooledStepsGiveTheSameGradientsBitForBit()
    {
        var plain = Train(pooled: false, steps: 4);
        var pooled = Train(pooled: true, steps: 4);
        for (int s = 0; s < plain.Count; s++)
            for (int p = 0; p < plain[s].Length; p++)
                Assert.True(plain[s][p].AsSpan().SequenceEqual(pooled[s][p]), $"step {s}, parameter {p}: pooled gradient differs");
    }

    [Fact]
    public void AWarmPoolServesTheBackwardsBuffers()
    {
        bool was = GradPool.Enabled;
        try
        {
            long Allocated(bool pooled)
            {
                GradPool.Enabled = pooled;
                GradPool.Clear();
                var net = new Net();
                net.Step();
                net.UpdateAndCollect();
                long before = GC.GetAllocatedBytesForCurrentThread();
                net.Step();
                long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                net.UpdateAndCollect();
                return bytes;
            }
            long plain = Allocated(false), pooled = Allocated(true);
            Assert.True(GradPool.IdleBytes > 0, "nothing went back to the pool");
            // Each recycled [B·T, C] gradient is 40 KB; the logits', z's, the GELU's and the add's come from the pool
            // (the parameters' and the attention's aliased temporaries do not).
            Assert.True(plain - pooled > 3L * B * T * C * sizeof(float), $"a warm pool saved only {plain - pooled} bytes ({plain} → {pooled})");
        }
        finally
        {
            GradPool.Enabled = was;
            GradPool.Clear();
        }
    }
}
