using LoraGen.Autograd;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>
/// Element-wise arithmetic with autograd (add, sub, mul with trailing broadcast; scale). Like every class in
/// <c>LoraGen.Ops</c>, each forward records a backward that accumulates into its inputs' gradients.
/// </summary>
public static class ElementwiseOps
{
    // Broadcasting rule (as used by bias adds and per-feature scales): b's shape must equal a's shape or
    // be a suffix of it, e.g. a [B, T, C] with b [C] or [T, C]. b is repeated over a's leading dimensions.

    private static void CheckSuffix(string op, Tensor a, Tensor b)
    {
        var sa = a.Shape;
        var sb = b.Shape;
        bool ok = sb.Length <= sa.Length && sa[(sa.Length - sb.Length)..].SequenceEqual(sb);
        if (!ok)
            throw new ShapeMismatchException(op, "a", a.shape, "b", b.shape,
                "b's shape must equal a's shape or a trailing part of it (b is broadcast over a's leading dimensions).");
    }

    /// <summary>dst += src.</summary>
    internal static void AddInPlace(Span<float> dst, ReadOnlySpan<float> src) => TensorPrimitives.Add(dst, src, dst);

    /// <summary>dst[j] += Σ_blocks src[block, j] (reduce a broadcast gradient onto b's shape).</summary>
    private static void AccumulateBlocks(Span<float> dst, ReadOnlySpan<float> src)
    {
        int n = dst.Length;
        for (int o = 0; o < src.Length; o += n) TensorPrimitives.Add(dst, src.Slice(o, n), dst);
    }

    /// <summary>Element-wise a + b, with b broadcast over a's leading dimensions.</summary>
    public static Tensor Add(this Tensor a, Tensor b)
    {
        using var profile = OpProfiler.Forward("add");
        CheckSuffix("add", a, b);
        var y = Tensor.Output(a.shape);
        Binary(a.Data, b.Data, y.Data, static (x, z, d) => TensorPrimitives.Add(x, z, d));
        if (!GradMode.Needs(a, b)) return y;
        // The backward reads no values: it holds the inputs' gradient slots (vertices), not a and b (a residual stream
        // is then freed once nothing else reads it).
        GradVertex av = a.Vertex, bv = b.Vertex;
        return Backprop.Record(y, "add", [a, b], g =>
        {
            bool sameShape = av.Size == bv.Size;
            // b first: a may then take g itself (no copy), as g is released after this call.
            if (bv.RequiresGrad)
            {
                if (sameShape) bv.AccumulateGrad(g, take: !av.RequiresGrad);
                else AccumulateBlocks(bv.GradZeroed(), g.Data);
            }
            if (av.RequiresGrad) av.AccumulateGrad(g, take: true);
        }, []);
    }

    /// <summary>Element-wise a − b, with b broadcast over a's leading dimensions.</summary>
    public static Tensor Sub(this Tensor a, Tensor b)
    {
        using var profile = OpProfiler.Forward("sub");
        CheckSuffix("sub", a, b);
        var y = Tensor.Output(a.shape);
        Binary(a.Data, b.Data, y.Data, static (x, z, d) => TensorPrimitives.Subtract(x, z, d));
        if (!GradMode.Needs(a, b)) return y;
        return Backprop.Record(y, "sub", [a, b], g =>
        {
            if (a.RequiresGrad) AddInPlace(a.GradZeroed(), g.Data);
            if (b.RequiresGrad)
            {
                var gb = b.GradZeroed();
                var gs = g.Data;
                for (int o = 0; o < gs.Length; o += gb.Length) TensorPrimitives.Subtract(gb, gs.Slice(o, gb.Length), gb);
            }
        });
    }

    /// <summary>Element-wise a · b, with b broadcast over a's leading dimensions.</summary>
    public static Tensor Mul(this Tensor a, Tensor b)
    {
        using var profile = OpProfiler.Forward("mul");
        CheckSuffix("mul", a, b);
        var y = Tensor.Output(a.shape);
        Binary(a.Data, b.Data, y.Data, static (x, z, d) => TensorPrimitives.Multiply(x, z, d));
        if (!GradMode.Needs(a, b)) return y;
        return Backprop.Record(y, "mul", [a, b], g =>
        {
            var gs = g.Data;
            int n = b.Size;
            if (a.RequiresGrad)
            {
                var ga = a.GradZeroed();
                var bs = b.Data;
                for (int o = 0; o < gs.Length; o += n) TensorPrimitives.FusedMultiplyAdd(gs.Slice(o, n), bs, ga.Slice(o, n), ga.Slice(o, n));
            }
            if (b.RequiresGrad)
            {
                var gb = b.GradZeroed();
                var av = a.Data;
                for (int o = 0; o < gs.Length; o += n) TensorPrimitives.FusedMultiplyAdd(gs.Slice(o, n), av.Slice(o, n), gb, gb);
            }
        });
    }

    /// <summary>a · s for a scalar s.</summary>
    public static Tensor Scale(this Tensor a, float s)
    {
        using var profile = OpProfiler.Forward("scale");
        var y = Tensor.Output(a.shape);
        TensorPrimitives.Multiply(a.Data, s, y.Data);
        if (!GradMode.Needs(a)) return y;
        return Backprop.Record(y, "scale", [a], g =>
        {
            var ga = a.GradBuffer(out bool fresh);
            if (fresh) TensorPrimitives.Multiply(g.Data, s, ga.Data);
            else TensorPrimitives.MultiplyAdd(g.Data, s, ga.Data, ga.Data);
        });
    }

    private delegate void BinaryKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<float> dst);

    private static void Binary(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, BinaryKernel kernel)
    {
        int n = b.Length;
        if (n == a.Length) { kernel(a, b, y); return; }
        for (int o = 0; o < a.Length; o += n) kernel(a.Slice(o, n), b, y.Slice(o, n));
    }
}
