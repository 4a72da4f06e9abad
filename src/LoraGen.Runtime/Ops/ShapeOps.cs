using LoraGen.Autograd;
using LoraGen.Tensors;
namespace LoraGen.Ops;

/// <summary>Shape operations: reshape views, transposes and permutes (copies), concat and split.</summary>
public static class ShapeOps
{
    /// <summary>
    /// A view of <paramref name="x"/> with a new shape and the same elements (no copy). One dimension may be −1
    /// and is inferred.
    /// </summary>
    public static Tensor Reshape(this Tensor x, params int[] shape)
    {
        using var profile = OpProfiler.Forward("reshape");
        var resolved = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0) throw new ShapeMismatchException("reshape", "x", x.shape, "shape", shape, "only one dimension may be -1.");
                infer = i;
            }
            else known *= resolved[i];
        }
        bool inferred = infer < 0 || (known > 0 && x.Size % known == 0);
        if (infer >= 0 && inferred) resolved[infer] = (int)(x.Size / known);
        if (!inferred || resolved.Any(d => d < 0) || Tensor.Product(resolved) != x.Size)
            throw new ShapeMismatchException("reshape", "x", x.shape, "shape", shape, $"{x.Size} elements cannot be viewed as that shape.");
        var y = Tensor.FromMemory(x.Storage, resolved);
        if (!GradMode.Needs(x)) return y;
        var xv = x.Vertex;   // the backward reads no values: a view's source is not pinned by the graph
        return Backprop.Record(y, "reshape", [x], g => xv.AccumulateGrad(g, take: true), []);
    }

    /// <summary>Swaps dimensions <paramref name="dim0"/> and <paramref name="dim1"/> (copies).</summary>
    public static Tensor Transpose(this Tensor x, int dim0, int dim1)
    {
        int r = x.Rank;
        var perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        int a = Tensor.NormalizeDim(dim0, r, "transpose"), b = Tensor.NormalizeDim(dim1, r, "transpose");
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return x.Permute(perm);
    }

    /// <summary>Reorders dimensions: output dimension i is input dimension <paramref name="dims"/>[i] (copies).</summary>
    public static Tensor Permute(this Tensor x, params int[] dims)
    {
        using var profile = OpProfiler.Forward("permute");
        int r = x.Rank;
        if (dims.Length != r) throw new ShapeMismatchException("permute", "x", x.shape, "dims", dims, $"a permutation of {r} dimensions is needed.");
        var seen = new bool[r];
        var perm = new int[r];
        for (int i = 0; i < r; i++)
        {
            int d = Tensor.NormalizeDim(dims[i], r, "permute");
            if (seen[d]) throw new ShapeMismatchException("permute", "x", x.shape, "dims", dims, $"dimension {d} appears twice.");
            seen[d] = true;
            perm[i] = d;
        }
        var outShape = new int[r];
        for (int i = 0; i < r; i++) outShape[i] = x.shape[perm[i]];
        var y = Tensor.Output(outShape);
        PermuteCopy(x.Data, x.shape, perm, y.Data, accumulate: false);
        if (!GradMode.Needs(x)) return y;
        var inverse = new int[r];
        for (int i = 0; i < r; i++) inverse[perm[i]] = i;
        return Backprop.Record(y, "permute", [x], g =>
        {
            var gx = x.GradBuffer(out bool fresh);
            PermuteCopy(g.Data, outShape, inverse, gx.Data, accumulate: !fresh);
        });
    }

    /// <summary>dst = permute(src) (or +=), for src of shape <paramref name="shape"/> padded to 4-D.</summary>
    private static void PermuteCopy(ReadOnlySpan<float> src, int[] shape, int[] perm, Span<float> dst, bool accumulate)
    {
        int r = shape.Length, pad = 4 - r;
        Span<int> s4 = stackalloc int[4];   // source shape, 4-D
        Span<int> st = stackalloc int[4];   // source strides
        for (int i = 0; i < 4; i++) s4[i] = i < pad ? 1 : shape[i - pad];
        st[3] = 1;
        for (int i = 2; i >= 0; i--) st[i] = st[i + 1] * s4[i + 1];
        Span<int> os = stackalloc int[4];   // output shape, and the source stride of each output dim
        Span<int> ostr = stackalloc int[4];
        for (int i = 0; i < 4; i++)
        {
            int srcDim = i < pad ? i : perm[i - pad] + pad;
            os[i] = s4[srcDim];
            ostr[i] = st[srcDim];
        }
        int o = 0;
        for (int i0 = 0; i0 < os[0]; i0++)
            for (int i1 = 0; i1 < os[1]; i1++)
                for (int i2 = 0; i2 < os[2]; i2++)
                {
                    int baseIdx = i0 * ostr[0] + i1 * ostr[1] + i2 * ostr[2];
                    int n = os[3], s = ostr[3];
                    if (accumulate && s == 1)
                    {
                        var d = dst.Slice(o, n);
                        System.Numerics.Tensors.TensorPrimitives.Add(d, src.Slice(baseIdx, n), d);
                        o += n;
                    }
                    else if (accumulate) for (int i3 = 0; i3 < n; i3++) dst[o++] += src[baseIdx + i3 * s];
                    else if (s == 1) { src.Slice(baseIdx, n).CopyTo(dst.Slice(o, n)); o += n; }
                    else for (int i3 = 0; i3 < n; i3++) dst[o++] = src[baseIdx + i3 * s];
                }
    }

    /// <summary>Joins tensors along <paramref name="dim"/>; all other dimensions must agree.</summary>
    public static Tensor Concat(Tensor[] tensors, int dim)
    {
        using var profile = OpProfiler.Forward("concat");
        if (tensors.Length == 0) throw new ArgumentException("concat: no tensors given.");
        var first = tensors[0];
        int d = Tensor.NormalizeDim(dim, first.Rank, "concat");
        int total = 0;
        foreach (var t in tensors)
        {
            bool ok = t.Rank == first.Rank;
            for (int i = 0; ok && i < t.Rank; i++) ok = i == d || t.shape[i] == first.shape[i];
            if (!ok) throw new ShapeMismatchException("concat", "tensors[0]", first.shape, "tensor", t.shape, $"all dimensions but {d} must be equal.");
            total += t.shape[d];
        }
        var outShape = (int[])first.shape.Clone();
        outShape[d] = total;
        var y = Tensor.Output(outShape);
        int outer = Outer(first.shape, d), inner = Inner(first.shape, d);
        int offset = 0;
        foreach (var t in tensors)
        {
            int w = t.shape[d] * inner;
            var src = t.Data;
            var dst = y.Data;
            for (int o = 0; o < outer; o++) src.Slice(o * w, w).CopyTo(dst.Slice(o * total * inner + offset, w));
            offset += w;
        }
        if (!GradMode.Needs(tensors)) return y;
        return Backprop.Record(y, "concat", (Tensor[])tensors.Clone(), g =>
        {
            int off = 0;
            foreach (var t in tensors)
            {
                int w = t.shape[d] * inner;
                if (t.RequiresGrad)
                {
                    var gt = t.GradZeroed();
                    for (int o = 0; o < outer; o++) ElementwiseOps.AddInPlace(gt.Slice(o * w, w), g.Data.Slice(o * total * inner + off, w));
                }
                off += w;
            }
        });
    }

    /// <summary>Splits <paramref name="x"/> along <paramref name="dim"/> into pieces of the given sizes (copies).</summary>
    public static Tensor[] Split(this Tensor x, int[] sizes, int dim)
    {
        using var profile = OpProfiler.Forward("split");
        int d = Tensor.NormalizeDim(dim, x.Rank, "split");
        if (sizes.Sum() != x.shape[d] || sizes.Any(s => s < 0))
            throw new ShapeMismatchException("split", "x", x.shape, "sizes", sizes, $"the sizes must be non-negative and add up to dimension {d} ({x.shape[d]}).");
        int outer = Outer(x.shape, d), inner = Inner(x.shape, d), full = x.shape[d] * inner;
        var result = new Tensor[sizes.Length];
        int offset = 0;
        for (int k = 0; k < sizes.Length; k++)
        {
            var shape = (int[])x.shape.Clone();
            shape[d] = sizes[k];
            var y = Tensor.Output(shape);
            int w = sizes[k] * inner, off = offset;
            for (int o = 0; o < outer; o++) x.Data.Slice(o * full + off, w).CopyTo(y.Data.Slice(o * w, w));
            if (GradMode.Needs(x))
                Backprop.Record(y, "split", [x], g =>
                {
                    var gx = x.GradZeroed();
                    for (int o = 0; o < outer; o++) ElementwiseOps.AddInPlace(gx.Slice(o * full + off, w), g.Data.Slice(o * w, w));
                });
            result[k] = y;
            offset += w;
        }
        return result;
    }

    private static int Outer(int[] shape, int dim)
    {
        int p = 1;
        for (int i = 0; i < dim; i++) p *= shape[i];
        return p;
    }

    private static int Inner(int[] shape, int dim)
    {
        int p = 1;
        for (int i = dim + 1; i < shape.Length; i++) p *= shape[i];
        return p;
    }
}
