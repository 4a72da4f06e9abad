using LoraGen.Autograd;
using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>
/// Fused scaled dot-product attention (optionally causal) with its own backward, on [B, H, T, D] heads or directly on
/// [B, T, C] projections with a head count (no permutes). Both run the same row-block kernel
/// (<c>AttentionOps.Kernel.cs</c>): no T×T matrix is kept for the backward, only each row's log-sum-exp.
/// </summary>
public static partial class AttentionOps
{
    /// <summary>
    /// Scaled dot-product attention as one fused op: softmax(q·kᵀ·scale + mask) · v, with the causal mask
    /// (position i sees positions ≤ i) when <paramref name="causal"/>. q, k, v are [B, H, T, D]; the result is
    /// [B, H, T, D]. scale defaults to 1/√D. The backward recomputes the probabilities block by block from the
    /// kept log-sum-exp (B·H·T floats) instead of keeping [B, H, T, T]. Causal attention works in row blocks that
    /// skip the masked upper triangle.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, bool causal = true, float? scale = null)
    {
        using var profile = OpProfiler.Forward("scaled_dot_product_attention");
        if (q.Rank != 4) throw new ArgumentException($"attention: q must be [B, H, T, D], got {q.ShapeString}.");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, k, "q", "k");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, v, "q", "v");
        int b = q.Dim(0), h = q.Dim(1), t = q.Dim(2), d = q.Dim(3);
        var layout = new HeadLayout(b, h, t, d, BatchStride: h * t * d, HeadStride: t * d, RowStride: d);
        return Attend("scaled_dot_product_attention", q, k, v, layout, causal, scale ?? 1f / MathF.Sqrt(d));
    }

    /// <summary>
    /// Multi-head scaled dot-product attention straight on the projections: q, k, v are [B, T, C] with C = heads · D,
    /// head h being columns [h·D, (h+1)·D) of every row (what <c>y.Reshape(B, T, H, D).Permute(0, 2, 1, 3)</c> would
    /// give); the result is [B, T, C] in the same layout, ready for the output projection. Equal to
    /// <see cref="ScaledDotProductAttention"/> on the permuted heads, permuted back, without the four permutes and
    /// their copies and gradients.
    /// </summary>
    public static Tensor MultiHeadAttention(Tensor q, Tensor k, Tensor v, int heads, bool causal = true, float? scale = null)
    {
        using var profile = OpProfiler.Forward("multi_head_attention");
        if (q.Rank != 3) throw new ArgumentException($"multi_head_attention: q must be [B, T, C], got {q.ShapeString}.");
        ShapeMismatchException.ThrowIfNotEqual("multi_head_attention", q, k, "q", "k");
        ShapeMismatchException.ThrowIfNotEqual("multi_head_attention", q, v, "q", "v");
        int b = q.Dim(0), t = q.Dim(1), c = q.Dim(2);
        if (heads <= 0 || c % heads != 0)
            throw new ArgumentException($"multi_head_attention: {heads} heads do not divide the {c} channels of q {q.ShapeString}.", nameof(heads));
        int d = c / heads;
        var layout = new HeadLayout(b, heads, t, d, BatchStride: t * c, HeadStride: d, RowStride: c);
        return Attend("multi_head_attention", q, k, v, layout, causal, scale ?? 1f / MathF.Sqrt(d));
    }

    /// <summary>Forward through the kernel, and the backward recorded when any input needs a gradient.</summary>
    private static Tensor Attend(string op, Tensor q, Tensor k, Tensor v, HeadLayout layout, bool causal, float scale)
    {
        var y = Tensor.Output(q.shape);
        var lse = new float[layout.Units * layout.T];
        Forward(q, k, v, y, lse, layout, causal, scale);
        if (!GradMode.Needs([q, k, v])) return y;
        return Backprop.Record(y, op, [q, k, v], g =>
        {
            // The kernel writes each gradient region once (dQ) or accumulates over row blocks (dK, dV) into buffers it
            // may start from zero; when one tensor is two of q, k, v, it gets separate buffers that are added after.
            bool aliased = ReferenceEquals(q, k) || ReferenceEquals(q, v) || ReferenceEquals(k, v);
            var gq = Target(q, aliased, out bool fq);
            var gk = Target(k, aliased, out bool fk);
            var gv = Target(v, aliased, out bool fv);
            Backward(q, k, v, y, lse, g, gq, fq, gk, fk, gv, fv, layout, causal, scale);
            if (!aliased) return;
            if (gq is not null) q.AccumulateGrad(gq, take: false);
            if (gk is not null) k.AccumulateGrad(gk, take: false);
            if (gv is not null) v.AccumulateGrad(gv, take: false);
        });
    }

    private static Tensor? Target(Tensor x, bool separate, out bool fresh)
    {
        fresh = true;
        if (!x.RequiresGrad) return null;
        return separate ? Tensor.Output(x.shape) : x.GradBuffer(out fresh);
    }
}
