using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>Causal attention of new queries over a key/value cache, for generation (no gradient).</summary>
public static class CachedAttentionOps
{
    /// <summary>
    /// q [B, H, Tq, D] are the last Tq of <paramref name="length"/> positions; the caches [B, Hkv, capacity, D] hold keys
    /// and values of positions 0..length−1. Query row r (position length − Tq + r) sees positions ≤ its own. Query head h
    /// reads cache head h / (H / Hkv) (grouped-query attention). Returns [B, H, Tq, D]. Inference only: refuses inputs
    /// that require gradients.
    /// </summary>
    public static Tensor AttendCached(this Tensor q, Tensor kCache, Tensor vCache, int length, float? scale = null)
    {
        if (q.Rank != 4 || kCache.Rank != 4) throw new ArgumentException($"cached attention: q and the caches must be rank 4, got {q.ShapeString} and {kCache.ShapeString}.");
        ShapeMismatchException.ThrowIfNotEqual("cached attention", kCache, vCache, "k cache", "v cache");
        if (GradMode.Needs(q, kCache, vCache)) throw new InvalidOperationException("cached attention is for inference: run it under GradMode.NoGrad() on tensors that do not require gradients.");
        int b = q.Dim(0), h = q.Dim(1), tq = q.Dim(2), d = q.Dim(3), hkv = kCache.Dim(1), cap = kCache.Dim(2);
        if (kCache.Dim(0) != b || kCache.Dim(3) != d || h % hkv != 0 || length > cap || tq > length)
            throw new ShapeMismatchException("cached attention", "q", q.shape, "k cache", kCache.shape, $"need the same batch and head width, H a multiple of Hkv, and {tq} ≤ length {length} ≤ capacity.");
        int groups = h / hkv, past = length - tq;
        float s = scale ?? 1f / MathF.Sqrt(d);
        var y = Tensor.Output(q.shape);
        Par.Rows(b * h, (long)tq * length * d * 2, (lo, hi) =>
        {
            var scores = new float[length];
            for (int i = lo; i < hi; i++)
            {
                int batch = i / h, head = i % h, kvHead = batch * hkv + head / groups;
                var K = kCache.Data.Slice(kvHead * cap * d, length * d);
                var V = vCache.Data.Slice(kvHead * cap * d, length * d);
                for (int r = 0; r < tq; r++)
                {
                    int visible = past + r + 1;
                    var Q = q.Data.Slice((i * tq + r) * d, d);
                    var row = scores.AsSpan(0, visible);
                    // row = s · K[0:visible] · Q
                    Gemm.Sgemm(false, false, visible, 1, d, s, K, d, Q, 1, 0f, row, 1, parallel: false);
                    SoftmaxOps.SoftmaxRow(row, row);
                    var Y = y.Data.Slice((i * tq + r) * d, d);
                    // Y = row · V[0:visible]
                    Gemm.Sgemm(false, false, 1, d, visible, 1f, row, visible, V, d, 0f, Y, d, parallel: false);
                }
            }
        });
        return y;
    }
}
