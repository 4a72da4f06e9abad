using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LoraGen.Kernels;

/// <summary>
/// The few-row case of <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, bool)"/>
/// (batch-1 decode): C[m×n] = alpha · A[m×k] · op(B) + beta · C with m ≤ <see cref="MaxRows"/> and A not transposed.
/// No packing and no allocation; across cores the columns of C are split once into near-equal chunks.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>op(B) = Bᵀ, B [n, k] (Linear forward, y = x·Wᵀ): each C[i, j] is a dot product of A's row i with B's row j,
/// both contiguous; 4 independent SIMD accumulators.</item>
/// <item>op(B) = B, B [k, n] (Linear backward, dX = dY·W): C's row i is Σₚ A[i, p] · B[p, :], an axpy pass over
/// B's rows; B is streamed once, C's column chunk stays in L1.</item>
/// </list>
/// Summation order differs from the packed kernel, so results agree to rounding, not bit for bit.
/// </remarks>
internal static unsafe class Gemv
{
    /// <summary>Products with at most this many rows (and A not transposed) take this path.</summary>
    internal const int MaxRows = 4;

    /// <summary>Width of the column chunk of C that the axpy pass keeps in L1 (floats).</summary>
    private const int AxpyChunk = 512;

    /// <summary>Whether <see cref="Run"/> handles this product.</summary>
    internal static bool Handles(bool transA, int m) => !transA && m <= MaxRows;

    /// <summary>C = alpha · A · op(B) + beta · C for m ≤ <see cref="MaxRows"/>; k ≥ 1, alpha ≠ 0 (checked by the caller).</summary>
    internal static void Run(bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        // Unit of the column split: whole chunks for the axpy pass, 16 columns (a cache line of C) for the dot pass.
        int unit = transB ? 16 : AxpyChunk;
        int units = (n + unit - 1) / unit;
        threads = Math.Min(threads, units);
        if (threads <= 1)
        {
            Columns(transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0, n);
            return;
        }
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Par.For(threads, t =>
        {
            int lo = (int)((long)units * t / threads) * unit, hi = Math.Min(n, (int)((long)units * (t + 1) / threads) * unit);
            if (hi > lo) Columns(transB, m, n, k, alpha, (float*)pa, lda, (float*)pb, ldb, beta, (float*)pc, ldc, lo, hi);
        });
    }

    /// <summary>Columns [j0, j1) of C.</summary>
    private static void Columns(bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int j0, int j1)
    {
        if (transB)
        {
            // C[i, j] = alpha · ⟨A[i, :], B[j, :]⟩ + beta · C[i, j]
            for (int j = j0; j < j1; j++)
            {
                float* bj = b + (long)j * ldb;
                for (int i = 0; i < m; i++)
                {
                    float* cij = c + (long)i * ldc + j;
                    float s = alpha * Dot(a + (long)i * lda, bj, k);
                    *cij = beta == 0f ? s : s + beta * *cij;
                }
            }
            return;
        }
        // C[i, j0:j1] = beta · C[i, j0:j1] + alpha · Σₚ A[i, p] · B[p, j0:j1], one L1-sized chunk of columns at a time.
        for (int jc = j0; jc < j1; jc += AxpyChunk)
        {
            int w = Math.Min(AxpyChunk, j1 - jc);
            for (int i = 0; i < m; i++)
            {
                var row = new Span<float>(c + (long)i * ldc + jc, w);
                if (beta == 0f) row.Clear();
                else if (beta != 1f) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
            }
            float* bp = b + jc;
            for (int p = 0; p < k; p++, bp += ldb)
                for (int i = 0; i < m; i++)
                {
                    Axpy(alpha * a[(long)i * lda + p], bp, c + (long)i * ldc + jc, w);
                }
        }
    }

    /// <summary>Σ x[p] · y[p] over p &lt; k with four independent SIMD accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot(float* x, float* y, int k)
    {
        int p = 0;
        float s;
        if (Vector512.IsHardwareAccelerated && k >= 16)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + 64 <= k; p += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(y + p), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 16), Vector512.Load(y + p + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 32), Vector512.Load(y + p + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p + 48), Vector512.Load(y + p + 48), s3);
            }
            for (; p + 16 <= k; p += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(y + p), s0);
            s = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p + 32 <= k; p += 32)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(y + p), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 8), Vector256.Load(y + p + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 16), Vector256.Load(y + p + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p + 24), Vector256.Load(y + p + 24), s3);
            }
            for (; p + 8 <= k; p += 8) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + p), Vector256.Load(y + p), s0);
            s = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        else s = 0f;
        for (; p < k; p++) s += x[p] * y[p];
        return s;
    }

    /// <summary>y[0:w] += s · x[0:w].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy(float s, float* x, float* y, int w)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; j + 16 <= w; j += 16) Vector512.Store(Vector512.FusedMultiplyAdd(vs, Vector512.Load(x + j), Vector512.Load(y + j)), y + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; j + 8 <= w; j += 8) Vector256.Store(Vector256.FusedMultiplyAdd(vs, Vector256.Load(x + j), Vector256.Load(y + j)), y + j);
        }
        for (; j < w; j++) y[j] += s * x[j];
    }
}
