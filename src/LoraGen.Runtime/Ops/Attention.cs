using System.Numerics.Tensors;
using LoraGen.Kernels;

namespace LoraGen.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Scaled dot-product attention as one fused op: softmax(q·kᵀ·scale + mask) · v, with the causal mask
    /// (position i sees positions ≤ i) when <paramref name="causal"/>. q, k, v are [B, H, T, D]; the result is
    /// [B, H, T, D]. scale defaults to 1/√D. The backward is fused too and keeps only the attention
    /// probabilities [B, H, T, T] from the forward.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, bool causal = true, float? scale = null)
    {
        if (q.Rank != 4) throw new ArgumentException($"attention: q must be [B, H, T, D], got {q.ShapeString}.");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, k, "q", "k");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, v, "q", "v");
        int bh = q.Dim(0) * q.Dim(1), t = q.Dim(2), d = q.Dim(3);
        float s = scale ?? 1f / MathF.Sqrt(d);
        int qkv = t * d, tt = t * t;
        var y = Tensor.Empty(q.shape);
        var probs = new float[bh * tt];
        Par.Rows(bh, (long)tt * d * 2, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var P = probs.AsSpan(i * tt, tt);
                Gemm.Sgemm(false, true, t, t, d, s, q.Data.Slice(i * qkv, qkv), d, k.Data.Slice(i * qkv, qkv), d, 0f, P, t, parallel: false);
                for (int r = 0; r < t; r++)
                {
                    var row = P.Slice(r * t, t);
                    if (causal)
                    {
                        SoftmaxRow(row[..(r + 1)], row[..(r + 1)]);
                        row[(r + 1)..].Clear();
                    }
                    else SoftmaxRow(row, row);
                }
                Gemm.Sgemm(false, false, t, d, t, 1f, P, t, v.Data.Slice(i * qkv, qkv), d, 0f, y.Data.Slice(i * qkv, qkv), d, parallel: false);
            }
        });
        if (!Autograd.Autograd.Needs([q, k, v])) return y;
        return Autograd.Autograd.Record(y, "scaled_dot_product_attention", [q, k, v], g =>
        {
            Tensor? gq = null, gk = null, gv = null;
            bool fq = false, fk = false, fv = false;
            if (q.RequiresGrad) gq = q.GradBuffer(out fq);
            if (k.RequiresGrad) gk = k.GradBuffer(out fk);
            if (v.RequiresGrad) gv = v.GradBuffer(out fv);
            Par.Rows(bh, (long)tt * d * 4, (lo, hi) =>
            {
                var dS = new float[tt];
                for (int i = lo; i < hi; i++)
                {
                    var P = probs.AsSpan(i * tt, tt);
                    var dO = g.Data.Slice(i * qkv, qkv);
                    if (gv is not null)   // dV = Pᵀ · dO
                        Gemm.Sgemm(true, false, t, d, t, 1f, P, t, dO, d, fv ? 0f : 1f, gv.Data.Slice(i * qkv, qkv), d, parallel: false);
                    if (gq is null && gk is null) continue;
                    // dP = dO · Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale
                    Gemm.Sgemm(false, true, t, t, d, 1f, dO, d, v.Data.Slice(i * qkv, qkv), d, 0f, dS, t, parallel: false);
                    for (int r = 0; r < t; r++)
                    {
                        var pr = P.Slice(r * t, t);
                        var dr = dS.AsSpan(r * t, t);
                        float dot = TensorPrimitives.Dot(pr, dr);
                        TensorPrimitives.Subtract(dr, dot, dr);
                        TensorPrimitives.Multiply(dr, pr, dr);
                        TensorPrimitives.Multiply(dr, s, dr);
                    }
                    if (gq is not null)   // dQ = dS · K
                        Gemm.Sgemm(false, false, t, d, t, 1f, dS, t, k.Data.Slice(i * qkv, qkv), d, fq ? 0f : 1f, gq.Data.Slice(i * qkv, qkv), d, parallel: false);
                    if (gk is not null)   // dK = dSᵀ · Q
                        Gemm.Sgemm(true, false, t, d, t, 1f, dS, t, q.Data.Slice(i * qkv, qkv), d, fk ? 0f : 1f, gk.Data.Slice(i * qkv, qkv), d, parallel: false);
                }
            });
        });
    }
}
