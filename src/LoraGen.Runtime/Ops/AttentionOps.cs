using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Fused scaled dot-product attention (optionally causal) with its own backward.</summary>
public static class AttentionOps
{
    /// <summary>Rows per block of the causal attention: each block only reads keys 0..end of the block.</summary>
    private const int AttentionBlock = 32;

    /// <summary>
    /// Scaled dot-product attention as one fused op: softmax(q·kᵀ·scale + mask) · v, with the causal mask
    /// (position i sees positions ≤ i) when <paramref name="causal"/>. q, k, v are [B, H, T, D]; the result is
    /// [B, H, T, D]. scale defaults to 1/√D. The backward is fused too and keeps only the attention
    /// probabilities [B, H, T, T] from the forward. Causal attention works in row blocks that skip the masked
    /// upper triangle (about 37% fewer flops at T = 128).
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, bool causal = true, float? scale = null)
    {
        using var profile = OpProfiler.Forward("scaled_dot_product_attention");
        if (q.Rank != 4) throw new ArgumentException($"attention: q must be [B, H, T, D], got {q.ShapeString}.");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, k, "q", "k");
        ShapeMismatchException.ThrowIfNotEqual("attention", q, v, "q", "v");
        int bh = q.Dim(0) * q.Dim(1), t = q.Dim(2), d = q.Dim(3);
        float s = scale ?? 1f / MathF.Sqrt(d);
        int qkv = t * d, tt = t * t, blk = causal ? AttentionBlock : t;
        var y = Tensor.Empty(q.shape);
        var probs = new float[bh * tt];
        Par.Rows(bh, (long)tt * d * 2, (lo, hi) =>
        {
            for (int i = lo; i < hi; i++)
            {
                var P = probs.AsSpan(i * tt, tt);
                var Q = q.Data.Slice(i * qkv, qkv);
                var K = k.Data.Slice(i * qkv, qkv);
                var V = v.Data.Slice(i * qkv, qkv);
                var Y = y.Data.Slice(i * qkv, qkv);
                for (int r0 = 0; r0 < t; r0 += blk)
                {
                    int r1 = Math.Min(t, r0 + blk), rows = r1 - r0, keys = causal ? r1 : t;
                    // P[r0:r1, 0:keys] = s · Q[r0:r1] · K[0:keys]ᵀ
                    Gemm.Sgemm(false, true, rows, keys, d, s, Q[(r0 * d)..], d, K, d, 0f, P[(r0 * t)..], t, parallel: false);
                    for (int r = r0; r < r1; r++)
                    {
                        var row = P.Slice(r * t, t);
                        int visible = causal ? r + 1 : t;
                        SoftmaxOps.SoftmaxRow(row[..visible], row[..visible]);
                        row[visible..].Clear();
                    }
                    // Y[r0:r1] = P[r0:r1, 0:keys] · V[0:keys]
                    Gemm.Sgemm(false, false, rows, d, keys, 1f, P[(r0 * t)..], t, V, d, 0f, Y[(r0 * d)..], d, parallel: false);
                }
            }
        });
        if (!GradMode.Needs([q, k, v])) return y;
        return Backprop.Record(y, "scaled_dot_product_attention", [q, k, v], g =>
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
                    var Q = q.Data.Slice(i * qkv, qkv);
                    var K = k.Data.Slice(i * qkv, qkv);
                    var V = v.Data.Slice(i * qkv, qkv);
                    // dV and dK accumulate over row blocks: start from zero when the buffer is fresh.
                    var dV = gv is null ? default : gv.Data.Slice(i * qkv, qkv);
                    var dK = gk is null ? default : gk.Data.Slice(i * qkv, qkv);
                    if (gv is not null && fv) dV.Clear();
                    if (gk is not null && fk) dK.Clear();
                    for (int r0 = 0; r0 < t; r0 += blk)
                    {
                        int r1 = Math.Min(t, r0 + blk), rows = r1 - r0, keys = causal ? r1 : t;
                        if (gv is not null)   // dV[0:keys] += P[r0:r1, 0:keys]ᵀ · dO[r0:r1]
                            Gemm.Sgemm(true, false, keys, d, rows, 1f, P[(r0 * t)..], t, dO[(r0 * d)..], d, 1f, dV, d, parallel: false);
                        if (gq is null && gk is null) continue;
                        // dP = dO[r0:r1] · V[0:keys]ᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale
                        Gemm.Sgemm(false, true, rows, keys, d, 1f, dO[(r0 * d)..], d, V, d, 0f, dS.AsSpan(r0 * t), t, parallel: false);
                        for (int r = r0; r < r1; r++)
                        {
                            var pr = P.Slice(r * t, keys);
                            var dr = dS.AsSpan(r * t, keys);
                            float dot = TensorPrimitives.Dot(pr, dr);
                            TensorPrimitives.Subtract(dr, dot, dr);
                            TensorPrimitives.Multiply(dr, pr, dr);
                            TensorPrimitives.Multiply(dr, s, dr);
                        }
                        if (gq is not null)   // dQ[r0:r1] = dS[r0:r1, 0:keys] · K[0:keys]
                            Gemm.Sgemm(false, false, rows, d, keys, 1f, dS.AsSpan(r0 * t), t, K, d, fq ? 0f : 1f, gq.Data.Slice(i * qkv + r0 * d, rows * d), d, parallel: false);
                        if (gk is not null)   // dK[0:keys] += dS[r0:r1, 0:keys]ᵀ · Q[r0:r1]
                            Gemm.Sgemm(true, false, keys, d, rows, 1f, dS.AsSpan(r0 * t), t, Q[(r0 * d)..], d, 1f, dK, d, parallel: false);
                    }
                }
            });
        });
    }
}
