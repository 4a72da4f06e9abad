using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Activation functions with autograd: ReLU, SiLU and GELU (exact or tanh-approximated).</summary>
public static class ActivationOps
{
    private const int Chunk = 1024;
    private const float GeluC = 0.7978845608028654f; // √(2/π)
    private const float GeluK = 0.044715f;

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(this Tensor x)
    {
        using var profile = OpProfiler.Forward("relu");
        var y = Tensor.Empty(x.shape);
        TensorPrimitives.Max(x.Data, 0f, y.Data);
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "relu", [x], g =>
        {
            var gx = x.GradZeroed();
            var xs = x.Data;
            var gs = g.Data;
            for (int i = 0; i < gx.Length; i++) if (xs[i] > 0f) gx[i] += gs[i];
        });
    }

    /// <summary>x · sigmoid(x) (a.k.a. swish).</summary>
    public static Tensor Silu(this Tensor x)
    {
        using var profile = OpProfiler.Forward("silu");
        var y = Tensor.Empty(x.shape);
        ForEachChunk(x.Size, (o, n, s, _, _) =>
        {
            var xs = x.Data.Slice(o, n);
            TensorPrimitives.Sigmoid(xs, s);
            TensorPrimitives.Multiply(xs, s, y.Data.Slice(o, n));
        });
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "silu", [x], g =>
        {
            x.GradZeroed(); // allocate on this thread, before the parallel region
            ForEachChunk(x.Size, (o, n, s, _, _) =>
            {
                var xs = x.Data.Slice(o, n);
                var gs = g.Data.Slice(o, n);
                var gx = x.Grad!.Data.Slice(o, n);
                TensorPrimitives.Sigmoid(xs, s);
                // d/dx = s + x·s·(1 − s)
                for (int i = 0; i < n; i++) gx[i] += gs[i] * (s[i] * (1f + xs[i] * (1f - s[i])));
            });
        });
    }

    /// <summary>The Gaussian error linear unit, exact (erf) or tanh-approximated.</summary>
    public static Tensor Gelu(this Tensor x, GeluApproximation approximate = GeluApproximation.None)
    {
        using var profile = OpProfiler.Forward("gelu");
        var y = Tensor.Empty(x.shape);
        if (approximate == GeluApproximation.Tanh)
        {
            ForEachChunk(x.Size, (o, n, t, _, _) =>
            {
                var xs = x.Data.Slice(o, n);
                var ys = y.Data.Slice(o, n);
                GeluTanhInner(xs, t);
                TensorPrimitives.Add(t, 1f, t);
                TensorPrimitives.Multiply(t, 0.5f, t);
                TensorPrimitives.Multiply(xs, t, ys);                 // y = x · 0.5(1 + t)
            });
        }
        else
        {
            var xs = x.Data;
            var ys = y.Data;
            for (int i = 0; i < xs.Length; i++) ys[i] = (float)(0.5 * xs[i] * (1.0 + SpecialFunctions.Erf(xs[i] * 0.7071067811865476)));
        }
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "gelu", [x], g =>
        {
            x.GradBuffer(out bool fresh);
            if (approximate == GeluApproximation.Tanh)
            {
                ForEachChunk(x.Size, (o, n, t, u, v) =>
                {
                    var xs = x.Data.Slice(o, n);
                    var gs = g.Data.Slice(o, n);
                    var gx = x.Grad!.Data.Slice(o, n);
                    GeluTanhInner(xs, t);
                    // d = 0.5·(1 + t) + (1 − t²) · 0.5·c·x·(1 + 3k·x²), element-wise in SIMD.
                    TensorPrimitives.Multiply(xs, xs, u);                 // x²
                    TensorPrimitives.Multiply(u, 3f * GeluK, u);
                    TensorPrimitives.Add(u, 1f, u);                       // 1 + 3k x²
                    TensorPrimitives.Multiply(u, xs, u);
                    TensorPrimitives.Multiply(u, 0.5f * GeluC, u);        // 0.5 c x (1 + 3k x²)
                    TensorPrimitives.Multiply(t, t, v);
                    TensorPrimitives.Subtract(1f, v, v);                  // 1 − t²
                    TensorPrimitives.Multiply(u, v, u);
                    TensorPrimitives.Add(t, 1f, t);
                    TensorPrimitives.MultiplyAdd(t, 0.5f, u, u);          // d
                    if (fresh) TensorPrimitives.Multiply(gs, u, gx);      // gx = g · d
                    else TensorPrimitives.FusedMultiplyAdd(gs, u, gx, gx); // gx += g · d
                });
            }
            else
            {
                var xs = x.Data;
                var gs = g.Data;
                var gx = x.Grad!.Data;
                if (fresh) gx.Clear();
                for (int i = 0; i < xs.Length; i++)
                {
                    double xi = xs[i];
                    double cdf = 0.5 * (1.0 + SpecialFunctions.Erf(xi * 0.7071067811865476));
                    double pdf = Math.Exp(-0.5 * xi * xi) * 0.3989422804014327;
                    gx[i] += (float)(gs[i] * (cdf + xi * pdf));
                }
            }
        });
    }

    /// <summary>t = tanh(√(2/π)(x + 0.044715x³)).</summary>
    private static void GeluTanhInner(ReadOnlySpan<float> xs, Span<float> t)
    {
        TensorPrimitives.Multiply(xs, xs, t);                 // x²
        TensorPrimitives.Multiply(t, GeluK, t);
        TensorPrimitives.Add(t, 1f, t);                       // 1 + k x²
        TensorPrimitives.Multiply(t, xs, t);                  // x + k x³
        TensorPrimitives.Multiply(t, GeluC, t);
        TensorPrimitives.Tanh(t, t);
    }

    /// <summary>The body of <see cref="ForEachChunk"/>: elements [offset, offset + length) and three scratch spans of that length.</summary>
    private delegate void ChunkBody(int offset, int length, Span<float> a, Span<float> b, Span<float> c);

    /// <summary>
    /// Runs <paramref name="body"/> over [0, size) in chunks of at most <see cref="Chunk"/> elements, split across the
    /// cores; each thread allocates its scratch once, on the stack.
    /// </summary>
    private static void ForEachChunk(int size, ChunkBody body)
    {
        int chunks = (size + Chunk - 1) / Chunk;
        Par.Rows(chunks, Chunk, (lo, hi) =>
        {
            Span<float> a = stackalloc float[Chunk];
            Span<float> b = stackalloc float[Chunk];
            Span<float> c = stackalloc float[Chunk];
            for (int blk = lo; blk < hi; blk++)
            {
                int o = blk * Chunk, n = Math.Min(Chunk, size - o);
                body(o, n, a[..n], b[..n], c[..n]);
            }
        });
    }
}
