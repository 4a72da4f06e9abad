using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>
/// The LoRA contribution of a Linear layer as one fused op: out = y + s · dropout(x) · Aᵀ · Bᵀ.
/// One graph node instead of four (dropout, linear A, scale, linear B, add), the rank-r activation h = x·Aᵀ
/// computed once and reused by the backward, and no gradient for the frozen base.
/// </summary>
public static class LoraOps
{
    /// <summary>
    /// out = y + <paramref name="scaling"/> · dropout(x) · Aᵀ · Bᵀ, with x [..., in], y [..., out] (the base layer's
    /// output), A [r, in], B [out, r]. Dropout (probability <paramref name="dropout"/>, only when
    /// <paramref name="training"/>) draws its mask from <paramref name="rng"/> element by element, as
    /// <see cref="DropoutOps.Dropout"/> does. Backward: with g = dOut and h = dropout(x)·Aᵀ [rows, r],
    /// dh = s·g·B, dB += s·gᵀ·h, dA += dhᵀ·dropout(x), dx += (dh·A) ⊙ mask, dy += g.
    /// When A does not require grad (LoRA-FA), the backward holds h [rows, r] for dB and neither x nor dropout(x)
    /// [rows, in]: the node refers to x and y by their autograd vertices only, so x is freed once the forward code and
    /// the other nodes are done with it; the dropout mask is kept while x needs a gradient.
    /// </summary>
    public static Tensor LoraLinear(Tensor x, Tensor y, Tensor a, Tensor b, float scaling, float dropout, Rng rng, bool training)
    {
        using var profile = OpProfiler.Forward("lora");
        int r = a.Dim(0), inF = x.Cols, outF = y.Cols, rows = x.Rows;
        if (a.Rank != 2 || a.Dim(1) != inF || b.Rank != 2 || b.Dim(0) != outF || b.Dim(1) != r || y.Rows != rows)
            throw new ShapeMismatchException("lora", "A", a.shape, "B", b.shape,
                $"x {x.ShapeString} and y {y.ShapeString} need A [r, {inF}] and B [{outF}, r] with the same leading dimensions.");
        if (dropout < 0f || dropout >= 1f) throw new ArgumentOutOfRangeException(nameof(dropout), $"lora: dropout must be in [0, 1), got {dropout}.");

        // xd = dropout(x) [rows, in]: x itself when there is no dropout.
        float[]? mask = training && dropout > 0f ? DropoutOps.Mask(x.Size, dropout, rng) : null;
        var xd = x.Data;
        float[]? dropped = null;
        if (mask is not null)
        {
            dropped = GC.AllocateUninitializedArray<float>(x.Size);
            TensorPrimitives.Multiply(x.Data, mask, dropped);
            xd = dropped;
        }
        // h = xd · Aᵀ [rows, r]; out = y + s · h · Bᵀ [rows, out]
        var h = GC.AllocateUninitializedArray<float>(rows * r);
        Gemm.Sgemm(false, true, rows, r, inF, 1f, xd, inF, a.Data, inF, 0f, h, r);
        var output = Tensor.Output(y.shape);
        y.Data.CopyTo(output.Data);
        Gemm.Sgemm(false, true, rows, outF, r, scaling, h, r, b.Data, r, 1f, output.Data, outF);
        if (!GradMode.Needs([x, y, a, b])) return output;

        // LoRA-FA (A frozen): dA is never computed, so the backward keeps only the rank-r h for dB, not dropout(x).
        // Decided here, at forward time: A unfrozen between forward and backward gets no gradient from this step.
        bool needA = a.RequiresGrad;
        if (!needA) dropped = null;
        if (!x.RequiresGrad && !needA) mask = null;   // the mask is read only for dx and, through xd, for dA
        // dA reads the layer input (or its dropped copy); nothing else reads x or y, so the backward holds their
        // gradient slots (vertices) only, and LoRA-FA frees x once the forward code drops it.
        ReadOnlyMemory<float> xForA = !needA ? default : dropped is not null ? dropped : x.Storage;
        object? xSaved = !needA ? null : dropped ?? (object)x;
        return Record(output, [x, y, a, b], x.Vertex, y.Vertex, a, b, h, needA, xForA, mask, scaling, rows, inF, outF, r,
            xSaved is null ? [h, a, b] : [h, xSaved, a, b]);
    }

    /// <summary>
    /// The backward of <see cref="LoraLinear"/>, recorded from its own method so that the closure captures what the
    /// backward reads and nothing of the forward's locals (C# lambdas of one method share their captures).
    /// </summary>
    private static Tensor Record(Tensor output, Tensor[] inputs, GradVertex xv, GradVertex yv, Tensor a, Tensor b, float[] h,
        bool needA, ReadOnlyMemory<float> xForA, float[]? mask, float scaling, int rows, int inF, int outF, int r, object[] saved)
    {
        if (mask is not null) saved = [.. saved, mask];
        return Backprop.Record(output, "lora", inputs, g =>
        {
            var gs = g.Data;
            // dh = s · g · B [rows, r]
            var dh = GC.AllocateUninitializedArray<float>(rows * r);
            if (needA || xv.RequiresGrad)
                Gemm.Sgemm(false, false, rows, r, outF, scaling, gs, outF, b.Data, r, 0f, dh, r);
            if (b.RequiresGrad)   // dB += s · gᵀ · h [out, r]
            {
                var gb = b.GradBuffer(out bool fresh);
                // Serial: a 256-deep K block of a rank-r product is less work than handing it to another core.
                Gemm.Sgemm(true, false, outF, r, rows, scaling, gs, outF, h, r, fresh ? 0f : 1f, gb.Data, r, parallel: false);
            }
            if (needA)   // dA += dhᵀ · xd [r, in]
            {
                var ga = a.GradBuffer(out bool fresh);
                Gemm.Sgemm(true, false, r, inF, rows, 1f, dh, r, xForA.Span, inF, fresh ? 0f : 1f, ga.Data, inF, parallel: false);
            }
            if (xv.RequiresGrad)   // dx += (dh · A) ⊙ mask [rows, in]
            {
                var gx = xv.GradBuffer(out bool fresh);
                if (mask is null)
                    Gemm.Sgemm(false, false, rows, inF, r, 1f, dh, r, a.Data, inF, fresh ? 0f : 1f, gx.Data, inF);
                else
                {
                    var t = GC.AllocateUninitializedArray<float>(rows * inF);
                    Gemm.Sgemm(false, false, rows, inF, r, 1f, dh, r, a.Data, inF, 0f, t, inF);
                    if (fresh) TensorPrimitives.Multiply(t, mask, gx.Data);
                    else TensorPrimitives.FusedMultiplyAdd(t, mask, gx.Data, gx.Data);
                }
            }
            // Last: y may take g itself, which is released after this call.
            if (yv.RequiresGrad) yv.AccumulateGrad(g, take: true);
        }, saved);
    }
}
