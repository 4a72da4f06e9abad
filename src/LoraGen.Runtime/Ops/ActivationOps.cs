using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Activation functions with autograd: ReLU, SiLU and GELU (exact or tanh-approximated).</summary>
public static class ActivationOps
{
    private const int Chunk = 1024;

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(this Tensor x)
    {
        using var profile = OpProfiler.Forward("relu");
        var y = Tensor.Output(x.shape);
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
        var y = Tensor.Output(x.shape);
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
        var y = Tensor.Output(x.shape);
        if (approximate == GeluApproximation.Tanh)
        {
            // y = x · 0.5(1 + tanh u) = x · σ(2u), one fused SIMD pass per chunk
            ForEachChunk(x.Size, (o, n, _, _, _) => GeluTanhKernel.Forward(x.Data.Slice(o, n), y.Data.Slice(o, n)));
        }
        else
        {
            var xs = x.Data;
            var ys = y.Data;
            for (int i = 0; i < xs.Length; i++) ys[i] = (float)(0.5 * xs[i] * (1.0 + SpecialFunctions.Erf(xs[i] * 0.7071067811865476)));
        }
        if (!GradMode.Needs(x)) return y;
        return RecordGelu(y, x, approximate);
    }

    /// <summary>
    /// GELU's backward (reads x), recorded apart from the forward: C# lambdas of one method share their captures, and
    /// the forward's chunk lambda captures y, which the backward does not need (a frozen projection after it neither).
    /// </summary>
    private static Tensor RecordGelu(Tensor y, Tensor x, GeluApproximation approximate)
    {
        return Backprop.Record(y, "gelu", [x], g =>
        {
            x.GradBuffer(out bool fresh);
            if (approximate == GeluApproximation.Tanh)
            {
                ForEachChunk(x.Size, (o, n, _, _, _) =>
                    GeluTanhKernel.Backward(x.Data.Slice(o, n), g.Data.Slice(o, n), x.Grad!.Data.Slice(o, n), accumulate: !fresh));
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

    /// <summary>The body of <see cref="ForEachChunk"/>: elements [offset, offset + length) and three scratch spans of that length.</summary>
    private delegate void ChunkBody(int offset, int length, Span<float> a, Span<float> b, Span<float> c);

    /// <summary>
    /// Runs <paramref name="body"/> over [0, size) in chunks of at most <see cref="Chunk"/> elements, split across the
    /// cores; each thread allocates its scratch once, on the stack.
    /// </summary>
    private static void ForEachChunk(int size, ChunkBody body)
    {
        int chunks = (size + Chunk - 1) / Chunk;
        // An element costs an exp or two: weigh it as several elements of plain arithmetic.
        Par.Rows(chunks, Chunk * 8, (lo, hi) =>
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
