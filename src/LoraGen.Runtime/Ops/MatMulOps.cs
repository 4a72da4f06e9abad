using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>Matrix products (batched, with transpose flags) on the packed SIMD GEMM.</summary>
public static class MatMulOps
{
    /// <summary>
    /// Batched matrix product op(a) · op(b). a is [..., M, K] (or [..., K, M] with <paramref name="transA"/>);
    /// b is [..., K, N] (or [..., N, K] with <paramref name="transB"/>) with the same leading dimensions, or 2-D
    /// and shared by every batch. The result is [..., M, N]. Transposes are read in place, never copied.
    /// </summary>
    public static Tensor MatMul(this Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        using var profile = OpProfiler.Forward("matmul");
        if (a.Rank < 2 || b.Rank < 2)
            throw new ShapeMismatchException("matmul", "a", a.shape, "b", b.shape, "both operands need at least 2 dimensions.");
        int m = transA ? a.Dim(-1) : a.Dim(-2), k = transA ? a.Dim(-2) : a.Dim(-1);
        int kb = transB ? b.Dim(-1) : b.Dim(-2), n = transB ? b.Dim(-2) : b.Dim(-1);
        if (k != kb)
            throw new ShapeMismatchException("matmul", "a", a.shape, "b", b.shape,
                $"the inner dimensions differ ({k} vs {kb}; transA={transA}, transB={transB}).");
        bool sharedB = b.Rank == 2;
        if (!sharedB && !a.Shape[..^2].SequenceEqual(b.Shape[..^2]))
            throw new ShapeMismatchException("matmul", "a", a.shape, "b", b.shape, "the batch dimensions must be equal, or b must be 2-D.");
        int batch = a.Size / Math.Max(1, a.Dim(-1) * a.Dim(-2));
        int[] outShape = [.. a.shape[..^2], m, n];
        var y = Tensor.Output(outShape);

        int aStride = m * k, bStride = sharedB ? 0 : k * n, cStride = m * n;
        int lda = transA ? m : k, ldb = transB ? k : n;
        if (sharedB && !transA)
        {
            // One tall GEMM: the batch folds into the rows.
            Gemm.Sgemm(false, transB, batch * m, n, k, 1f, a.Data, lda, b.Data, ldb, 0f, y.Data, n);
        }
        else
        {
            Batched(batch, (long)m * n * k, i =>
                Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Data.Slice(i * aStride, aStride), lda,
                    b.Data.Slice(i * bStride, k * n), ldb, 0f, y.Data.Slice(i * cStride, cStride), n, parallel: false),
                i => Gemm.Sgemm(transA, transB, m, n, k, 1f, a.Data.Slice(i * aStride, aStride), lda,
                    b.Data.Slice(i * bStride, k * n), ldb, 0f, y.Data.Slice(i * cStride, cStride), n));
        }
        if (!GradMode.Needs(a, b)) return y;
        return Backprop.Record(y, "matmul", [a, b], g =>
        {
            if (a.RequiresGrad)
            {
                var ga = a.GradBuffer(out bool fresh);
                float beta = fresh ? 0f : 1f;
                if (sharedB && !transA)
                    Gemm.Sgemm(false, !transB, batch * m, k, n, 1f, g.Data, n, b.Data, ldb, beta, ga.Data, k);
                else
                    Batched(batch, (long)m * n * k, i => GradA(i, false), i => GradA(i, true));

                void GradA(int i, bool par)
                {
                    var gi = g.Data.Slice(i * cStride, cStride);
                    var bi = b.Data.Slice(i * bStride, k * n);
                    var dst = ga.Data.Slice(i * aStride, aStride);
                    if (!transA) Gemm.Sgemm(false, !transB, m, k, n, 1f, gi, n, bi, ldb, beta, dst, k, par);   // dA = dC · op(B)ᵀ
                    else Gemm.Sgemm(transB, true, k, m, n, 1f, bi, ldb, gi, n, beta, dst, m, par);              // dAᵀ = op(B) · dCᵀ
                }
            }
            if (b.RequiresGrad)
            {
                var gb = b.GradBuffer(out bool fresh);
                if (sharedB)
                {
                    // dB accumulates over the batch.
                    if (!transA)
                    {
                        if (!transB) Gemm.Sgemm(true, false, k, n, batch * m, 1f, a.Data, lda, g.Data, n, fresh ? 0f : 1f, gb.Data, n);
                        else Gemm.Sgemm(true, false, n, k, batch * m, 1f, g.Data, n, a.Data, lda, fresh ? 0f : 1f, gb.Data, k);
                    }
                    else
                    {
                        for (int i = 0; i < batch; i++) GradB(i, i == 0 && fresh ? 0f : 1f, true);
                    }
                }
                else
                {
                    float beta = fresh ? 0f : 1f;
                    Batched(batch, (long)m * n * k, i => GradB(i, beta, false), i => GradB(i, beta, true));
                }

                void GradB(int i, float beta, bool par)
                {
                    var ai = a.Data.Slice(i * aStride, aStride);
                    var gi = g.Data.Slice(i * cStride, cStride);
                    var dst = gb.Data.Slice(i * bStride, k * n);
                    if (!transB) Gemm.Sgemm(!transA, false, k, n, m, 1f, ai, lda, gi, n, beta, dst, n, par);    // dB = op(A)ᵀ · dC
                    else Gemm.Sgemm(true, transA, n, k, m, 1f, gi, n, ai, lda, beta, dst, k, par);              // dBᵀ = dCᵀ · op(A)
                }
            }
        });
    }

    /// <summary>
    /// Runs <paramref name="count"/> independent matrix products: small ones in parallel across the batch
    /// (each single-threaded), large ones one after another (each multi-threaded).
    /// </summary>
    private static void Batched(int count, long flopsEach, Action<int> serialBody, Action<int> parallelBody)
    {
        if (count > 1 && flopsEach < Gemm.ParallelThreshold * 4)
            Par.Rows(count, flopsEach, (lo, hi) => { for (int i = lo; i < hi; i++) serialBody(i); });
        else
            for (int i = 0; i < count; i++) parallelBody(i);
    }
}
