using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

public static partial class AttentionOps
{
    /// <summary>Query rows per block: a block's scores [Block, keys] live in a per-thread scratch, never [T, T].</summary>
    private const int Block = 32;

    /// <summary>
    /// Where head h of batch b lives in a q/k/v/output tensor: its T rows of D floats start at
    /// b·BatchStride + h·HeadStride and are RowStride apart ([B, H, T, D]: stride D; [B, T, C]: stride C).
    /// </summary>
    private readonly record struct HeadLayout(int Batch, int Heads, int T, int D, int BatchStride, int HeadStride, int RowStride)
    {
        /// <summary>The number of (batch, head) pairs.</summary>
        public int Units => Batch * Heads;

        /// <summary>First float of unit u = b·Heads + h.</summary>
        public int Offset(int unit) => unit / Heads * BatchStride + unit % Heads * HeadStride;

        /// <summary>Floats from a unit's first element to its last, inclusive.</summary>
        public int Extent => (T - 1) * RowStride + D;
    }

    /// <summary>
    /// y = softmax(s·q·kᵀ + mask)·v per (batch, head), in blocks of <see cref="Block"/> query rows; lse[u·T + i] gets row
    /// i's log-sum-exp of the scaled scores, all the backward needs to rebuild the probabilities. Blocks of every head
    /// are spread over the cores; a causal block reads only the keys up to its last row.
    /// </summary>
    private static void Forward(Tensor q, Tensor k, Tensor v, Tensor y, float[] lse, HeadLayout L, bool causal, float s)
    {
        int t = L.T, d = L.D, ld = L.RowStride, blocks = (t + Block - 1) / Block;
        if (t == 0 || L.Units == 0) return;
        Par.Rows(L.Units * blocks, (long)Block * t * d * 2, (lo, hi) =>
        {
            var S = new float[Block * t];
            for (int w = lo; w < hi; w++)
            {
                int unit = w / blocks, r0 = w % blocks * Block, r1 = Math.Min(t, r0 + Block), rows = r1 - r0;
                int keys = causal ? r1 : t, off = L.Offset(unit);
                var K = k.Data.Slice(off, L.Extent);
                var V = v.Data.Slice(off, L.Extent);
                // S[rows, keys] = s · Q[r0:r1] · K[0:keys]ᵀ
                Gemm.Sgemm(false, true, rows, keys, d, s, q.Data[(off + r0 * ld)..], ld, K, ld, 0f, S, keys, parallel: false);
                for (int r = 0; r < rows; r++)
                {
                    int visible = causal ? r0 + r + 1 : t;
                    var row = S.AsSpan(r * keys, keys);
                    lse[unit * t + r0 + r] = SoftmaxWithLse(row[..visible]);
                    row[visible..].Clear();
                }
                // Y[r0:r1] = P · V[0:keys]
                Gemm.Sgemm(false, false, rows, d, keys, 1f, S, keys, V, ld, 0f, y.Data[(off + r0 * ld)..], ld, parallel: false);
            }
        });
    }

    /// <summary>Softmax of <paramref name="row"/> in place; returns log Σ exp(row) (max-shifted, stable).</summary>
    private static float SoftmaxWithLse(Span<float> row)
    {
        float m = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, m, row);
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum(row);
        TensorPrimitives.Multiply(row, 1f / sum, row);
        return m + MathF.Log(sum);
    }

    /// <summary>
    /// The backward, per (batch, head) on one core each (dK and dV sum over the query blocks): per block, P = exp(s·q·kᵀ −
    /// lse) is rebuilt, dV += Pᵀ·dO, dS = P ⊙ (dO·vᵀ − Dᵢ)·s with Dᵢ = dOᵢ·yᵢ (= Σⱼ Pᵢⱼ·dPᵢⱼ), dQ = dS·k, dK += dSᵀ·q.
    /// A null target skips its gradient; a fresh one (uninitialized) is stored into rather than added to.
    /// </summary>
    private static void Backward(Tensor q, Tensor k, Tensor v, Tensor y, float[] lse, Tensor g,
        Tensor? gq, bool fq, Tensor? gk, bool fk, Tensor? gv, bool fv, HeadLayout L, bool causal, float s)
    {
        int t = L.T, d = L.D, ld = L.RowStride, ext = L.Extent;
        if (t == 0 || L.Units == 0) return;
        Par.Rows(L.Units, (long)t * t * d * 4, (lo, hi) =>
        {
            var P = new float[Block * t];
            var dS = new float[Block * t];
            var D = new float[t];
            for (int unit = lo; unit < hi; unit++)
            {
                int off = L.Offset(unit);
                var Q = q.Data.Slice(off, ext);
                var K = k.Data.Slice(off, ext);
                var V = v.Data.Slice(off, ext);
                var dO = g.Data.Slice(off, ext);
                var Y = y.Data.Slice(off, ext);
                var dV = gv is null ? default : gv.Data.Slice(off, ext);
                var dK = gk is null ? default : gk.Data.Slice(off, ext);
                for (int r = 0; r < t; r++)
                {
                    if (gv is not null && fv) dV.Slice(r * ld, d).Clear();
                    if (gk is not null && fk) dK.Slice(r * ld, d).Clear();
                    D[r] = TensorPrimitives.Dot(dO.Slice(r * ld, d), Y.Slice(r * ld, d));
                }
                for (int r0 = 0; r0 < t; r0 += Block)
                {
                    int r1 = Math.Min(t, r0 + Block), rows = r1 - r0, keys = causal ? r1 : t;
                    // P[rows, keys] = exp(s · Q[r0:r1] · K[0:keys]ᵀ − lse), zero above the diagonal
                    Gemm.Sgemm(false, true, rows, keys, d, s, Q[(r0 * ld)..], ld, K, ld, 0f, P, keys, parallel: false);
                    for (int r = 0; r < rows; r++)
                    {
                        int visible = causal ? r0 + r + 1 : t;
                        var row = P.AsSpan(r * keys, keys);
                        TensorPrimitives.Subtract(row[..visible], lse[unit * t + r0 + r], row[..visible]);
                        TensorPrimitives.Exp(row[..visible], row[..visible]);
                        row[visible..].Clear();
                    }
                    if (gv is not null)   // dV[0:keys] += Pᵀ · dO[r0:r1]
                        Gemm.Sgemm(true, false, keys, d, rows, 1f, P, keys, dO[(r0 * ld)..], ld, 1f, dV, ld, parallel: false);
                    if (gq is null && gk is null) continue;
                    // dS = P ⊙ (dO[r0:r1] · V[0:keys]ᵀ − D) · s
                    Gemm.Sgemm(false, true, rows, keys, d, 1f, dO[(r0 * ld)..], ld, V, ld, 0f, dS, keys, parallel: false);
                    for (int r = 0; r < rows; r++)
                    {
                        var dr = dS.AsSpan(r * keys, keys);
                        TensorPrimitives.Subtract(dr, D[r0 + r], dr);
                        TensorPrimitives.Multiply(dr, P.AsSpan(r * keys, keys), dr);
                        TensorPrimitives.Multiply(dr, s, dr);
                    }
                    if (gq is not null)   // dQ[r0:r1] = dS · K[0:keys]
                        Gemm.Sgemm(false, false, rows, d, keys, 1f, dS, keys, K, ld, fq ? 0f : 1f, gq.Data[(off + r0 * ld)..], ld, parallel: false);
                    if (gk is not null)   // dK[0:keys] += dSᵀ · Q[r0:r1]
                        Gemm.Sgemm(true, false, keys, d, rows, 1f, dS, keys, Q[(r0 * ld)..], ld, 1f, dK, ld, parallel: false);
                }
            }
        });
    }
}
