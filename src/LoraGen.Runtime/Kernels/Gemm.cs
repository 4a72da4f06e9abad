using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LoraGen.Kernels;

/// <summary>
/// Single-precision matrix multiply, C = alpha · op(A) · op(B) + beta · C, row-major.
/// op(X) is X or Xᵀ according to the transpose flags, so callers never copy to transpose.
/// </summary>
/// <remarks>
/// The managed kernel follows the classic Goto/BLIS structure:
/// <list type="bullet">
/// <item>B is packed into KC×NR column panels (kept in L3/L2), A into MR×KC row panels (kept in L2);</item>
/// <item>a register-blocked MR×NR = 6×16 micro-kernel (12 Vector256 accumulators, FMA) walks the panels;</item>
/// <item>across cores, B is packed once per block and shared; row blocks of A are handed out dynamically
/// (short, wide products split the columns instead).</item>
/// </list>
/// Products of at most <see cref="Gemv.MaxRows"/> rows (A not transposed) skip the packing and go to <see cref="Gemv"/>.
/// Where OpenBLAS is available and <c>LORAGEN_BLAS=openblas</c> is set, <see cref="OpenBlas"/> is used instead.
/// </remarks>
public static unsafe class Gemm
{
    internal const int MR = 6, NR = 16;
    internal const int KC = 256, MC = 96, NC = 1536;

    /// <summary>Below this many multiply-adds the work runs on one thread.</summary>
    internal const long ParallelThreshold = 1L << 18;

    /// <summary>Products of at most this many rows split B's columns across the cores in a single hand-off.</summary>
    internal const int SplitNRows = 2 * MC;

    /// <summary>Whether the AVX2/FMA micro-kernel can run on this CPU.</summary>
    public static bool IsAccelerated => Fma.IsSupported && Avx.IsSupported;

    /// <summary>
    /// Whether the AVX-512 micro-kernel runs (on CPUs with AVX-512F, unless <c>LORAGEN_GEMM_AVX512=0</c>): the same
    /// 6×16 tile, one 512-bit register per row, two interleaved accumulator sets so that 12 FMA chains are in flight.
    /// </summary>
    public static bool UsesAvx512 { get; } = Avx512F.IsSupported && Environment.GetEnvironmentVariable("LORAGEN_GEMM_AVX512") != "0";

    /// <summary>
    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C. Leading dimensions are row strides:
    /// A is m×k (lda ≥ k) or, transposed, k×m (lda ≥ m); likewise B.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        bool parallel = true)
    {
        if (m == 0 || n == 0) return;
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            if (OpenBlas.IsEnabled)
            {
                OpenBlas.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
                return;
            }
            if (k == 0 || alpha == 0f)
            {
                ScaleC(m, n, beta, pc, ldc);
                return;
            }
            int threads = parallel && (long)m * n * k >= ParallelThreshold ? Math.Min(Environment.ProcessorCount, 8) : 1;
            // A few rows (batch-1 decode): dot products / axpy passes straight over B, no packing.
            if (Gemv.Handles(transA, m))
            {
                Gemv.Run(transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, threads);
                return;
            }
            // With beta = 0 the first K block stores its result instead of adding it, so C is never cleared first.
            bool storeFirst = beta == 0f;
            if (!storeFirst) ScaleC(m, n, beta, pc, ldc);
            Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, pc, ldc, threads, storeFirst);
        }
    }

    /// <summary>
    /// C[m×n] = alpha · op(A)[m×k] · op(W)[k×n] + beta · C where W is a weight kept in a low-precision format
    /// (<see cref="ILowPrecisionWeight"/>): each packed panel of W is widened to fp32 as it is packed, so no full fp32
    /// copy of W is ever made. W is [n, k] with <paramref name="transB"/> (x·Wᵀ) and [k, n] without (g·W).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ILowPrecisionWeight w, float beta, Span<float> c, int ldc, bool parallel = true)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (m == 0 || n == 0) return;
        int wRows = transB ? n : k, wCols = transB ? k : n;
        if (w.Rows != wRows || w.Cols != wCols)
            throw new ArgumentException($"sgemm: the weight is {w.Rows}×{w.Cols}, the product needs {wRows}×{wCols} (transB={transB}).");
        Validate(transA, false, m, n, k, a.Length, lda, k * n, n, c.Length, ldc);
        // An int8 weight multiplies on integer dot products (activations quantized per row) instead of being widened.
        if (w is Int8Weight q8 && Int8Gemm.TrySgemm(transA, transB, m, n, k, alpha, a, lda, q8, beta, c, ldc, parallel)) return;
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            if (k == 0 || alpha == 0f)
            {
                ScaleC(m, n, beta, pc, ldc);
                return;
            }
            bool storeFirst = beta == 0f;
            if (!storeFirst) ScaleC(m, n, beta, pc, ldc);
            int threads = parallel && (long)m * n * k >= ParallelThreshold ? Math.Min(Environment.ProcessorCount, 8) : 1;
            Run(transA, transB, m, n, k, alpha, pa, lda, null, 0, pc, ldc, threads, storeFirst, w);
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"sgemm: negative size m={m} n={n} k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (lda < Math.Max(1, aCols) || (aRows > 0 && (long)(aRows - 1) * lda + aCols > aLen))
            throw new ArgumentException($"sgemm: A ({aRows}×{aCols}, lda {lda}) does not fit in {aLen} floats.");
        if (ldb < Math.Max(1, bCols) || (bRows > 0 && (long)(bRows - 1) * ldb + bCols > bLen))
            throw new ArgumentException($"sgemm: B ({bRows}×{bCols}, ldb {ldb}) does not fit in {bLen} floats.");
        if (ldc < Math.Max(1, n) || (long)(m - 1) * ldc + n > cLen)
            throw new ArgumentException($"sgemm: C ({m}×{n}, ldc {ldc}) does not fit in {cLen} floats.");
    }

    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    private static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float* c, int ldc, int threads, bool storeFirst, ILowPrecisionWeight? w = null)
    {
        int mBlocks = (m + MR - 1) / MR;
        // Short products (up to SplitNRows rows: a batch-1 forward's 65–128 tokens) take one hand-off for the whole
        // product — each core packs its own column slice of B — instead of two per K block.
        if (threads <= 1 || mBlocks < 2 * threads || (m <= SplitNRows && w is null && n >= threads * NR * 2))
        {
            if (w is not null) Serial(transA, transB, m, n, k, alpha, a, lda, null, 0, c, ldc, storeFirst, w);
            else if (threads > 1 && n >= threads * NR * 2) SplitN(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, threads, storeFirst);
            else Serial(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, storeFirst);
            return;
        }
        // Shared packed B per (jc, pc) block; M blocks are handed out dynamically so that a core slowed by
        // other work does not hold the other one up. The block count is a multiple of the thread count and the
        // blocks are near-equal (in whole MR panels), so no core is left with one extra block at the end.
        int panelsM = (m + MR - 1) / MR;
        int blocks = RoundUp(Math.Max((m + MC - 1) / MC, 2 * threads), threads);
        blocks = Math.Min(blocks, panelsM);
        var packB = _sharedPackB ??= GC.AllocateArray<float>(NC * KC + 64, pinned: true);
        fixed (float* pB = packB)
        {
            nint bp = (nint)Align64(pB), pa = (nint)a, pbSrc = (nint)b, pc0 = (nint)c;
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    int panels = (nc + NR - 1) / NR;
                    int jcL = jc, pcL = pc;
                    Par.For(threads, t =>
                    {
                        int p0 = panels * t / threads, p1 = panels * (t + 1) / threads;
                        if (p1 > p0)
                            PackB(transB, (float*)pbSrc, ldb, pcL, jcL + p0 * NR, kc, Math.Min(nc, p1 * NR) - p0 * NR, (float*)bp + (long)p0 * NR * kc, w);
                    });
                    Par.For(blocks, blk =>
                    {
                        int ic = (int)((long)panelsM * blk / blocks) * MR;
                        int mcb = Math.Min(m, (int)((long)panelsM * (blk + 1) / blocks) * MR) - ic;
                        var packA = _packA ??= GC.AllocateArray<float>(MC * KC + 64, pinned: true);
                        fixed (float* pA = packA)
                        {
                            float* ap = Align64(pA);
                            PackA(transA, (float*)pa, lda, ic, pcL, mcb, kc, alpha, ap);
                            Macro(mcb, nc, kc, ap, (float*)bp, (float*)pc0 + (long)ic * ldc + jcL, ldc, storeFirst && pcL == 0);
                        }
                    });
                }
            }
        }
    }

    /// <summary>For short, wide products: each core takes a slice of the columns and runs the serial algorithm.</summary>
    private static void SplitN(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float* c, int ldc, int threads, bool storeFirst)
    {
        int units = (n + NR - 1) / NR;
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Par.For(threads, t =>
        {
            int lo = units * t / threads * NR, hi = Math.Min(n, units * (t + 1) / threads * NR);
            if (hi <= lo) return;
            float* B = (float*)pb;
            float* Bs = transB ? B + (long)lo * ldb : B + lo;
            Serial(transA, transB, m, hi - lo, k, alpha, (float*)pa, lda, Bs, ldb, (float*)pc + lo, ldc, storeFirst);
        });
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    // The shared B buffer belongs to the thread that calls Sgemm; nested calls from worker threads use their own.
    [ThreadStatic] private static float[]? _sharedPackB;

    [ThreadStatic] private static float[]? _packA, _packB;

    /// <summary>C += alpha · op(A) · op(B) on the calling thread (C = … when <paramref name="storeFirst"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Serial(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool storeFirst, ILowPrecisionWeight? w = null)
    {
        var packA = _packA ??= GC.AllocateArray<float>(MC * KC + 64, pinned: true);
        var packB = _packB ??= GC.AllocateArray<float>(NC * KC + 64, pinned: true);
        fixed (float* pA = packA)
        fixed (float* pB = packB)
        {
            float* ap = Align64(pA), bp = Align64(pB);
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    PackB(transB, b, ldb, pc, jc, kc, nc, bp, w);
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        PackA(transA, a, lda, ic, pc, mc, kc, alpha, ap);
                        Macro(mc, nc, kc, ap, bp, c + (long)ic * ldc + jc, ldc, storeFirst && pc == 0);
                    }
                }
            }
        }
    }

    private static float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>Packs op(B)[pc:pc+kc, jc:jc+nc] into NR-wide panels, each kc×NR row-major, zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(bool transB, float* b, int ldb, int pc, int jc, int kc, int nc, float* dst, ILowPrecisionWeight? w)
    {
        if (w is not null)
        {
            PackWidened(transB, w, pc, jc, kc, nc, dst);
            return;
        }
        for (int j0 = 0; j0 < nc; j0 += NR)
        {
            int nr = Math.Min(NR, nc - j0);
            float* panel = dst + (long)j0 * kc;
            if (!transB)
            {
                // op(B)[p, j] = b[p*ldb + j]
                float* src = b + (long)pc * ldb + jc + j0;
                if (nr == NR)
                {
                    for (int p = 0; p < kc; p++, src += ldb, panel += NR)
                    {
                        Vector256.Store(Vector256.Load(src), panel);
                        Vector256.Store(Vector256.Load(src + 8), panel + 8);
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++, src += ldb, panel += NR)
                    {
                        int j = 0;
                        for (; j < nr; j++) panel[j] = src[j];
                        for (; j < NR; j++) panel[j] = 0f;
                    }
                }
            }
            else if (nr == NR && Avx.IsSupported)
            {
                // op(B)[p, j] = b[j*ldb + p]: 8×8 blocks of B's rows transposed in registers into the panel.
                float* src = b + (long)(jc + j0) * ldb + pc;
                int p = 0;
                // 16 columns at a time: each of the 16 rows' cache lines (64 bytes) is read whole before the next, which
                // matters when a power-of-two row stride maps all 16 rows to the same few cache sets.
                for (; p + 16 <= kc; p += 16)
                {
                    Transpose8x8To(src + p, ldb, panel + p * NR, NR);
                    Transpose8x8To(src + p + 8, ldb, panel + (p + 8) * NR, NR);
                    Transpose8x8To(src + 8L * ldb + p, ldb, panel + p * NR + 8, NR);
                    Transpose8x8To(src + 8L * ldb + p + 8, ldb, panel + (p + 8) * NR + 8, NR);
                }
                for (; p + 8 <= kc; p += 8)
                {
                    Transpose8x8To(src + p, ldb, panel + p * NR, NR);
                    Transpose8x8To(src + 8L * ldb + p, ldb, panel + p * NR + 8, NR);
                }
                for (; p < kc; p++)
                    for (int j = 0; j < NR; j++) panel[p * NR + j] = src[(long)j * ldb + p];
            }
            else
            {
                // op(B)[p, j] = b[j*ldb + p]: read rows of B contiguously, write panel columns.
                for (int j = 0; j < NR; j++)
                {
                    if (j < nr)
                    {
                        float* src = b + (long)(jc + j0 + j) * ldb + pc;
                        for (int p = 0; p < kc; p++) panel[p * NR + j] = src[p];
                    }
                    else for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
                }
            }
        }
    }

    [ThreadStatic] private static float[]? _widened;

    /// <summary>
    /// <see cref="PackB"/> for a low-precision weight: each weight row segment the panel needs is widened into a
    /// small fp32 scratch (at most max(KC, NC) floats), then scattered into the panels like an fp32 row.
    /// </summary>
    private static void PackWidened(bool transB, ILowPrecisionWeight w, int pc, int jc, int kc, int nc, float* dst)
    {
        var scratch = (_widened ??= new float[Math.Max(KC, NC)]).AsSpan();
        int panels = (nc + NR - 1) / NR;
        if (!transB)
        {
            // op(W)[p, j] = W[pc + p, jc + j]: widen row pc+p's nc columns, then give each panel its NR of them.
            var row = scratch[..nc];
            for (int p = 0; p < kc; p++)
            {
                w.WidenRow(pc + p, jc, row);
                for (int q = 0; q < panels; q++)
                {
                    int j0 = q * NR, nr = Math.Min(NR, nc - j0);
                    float* panel = dst + (long)j0 * kc + p * NR;
                    for (int j = 0; j < nr; j++) panel[j] = row[j0 + j];
                    for (int j = nr; j < NR; j++) panel[j] = 0f;
                }
            }
        }
        else
        {
            // op(W)[p, j] = W[jc + j, pc + p]: widen row jc+j's kc columns into panel column j.
            var seg = scratch[..kc];
            for (int q = 0; q < panels; q++)
            {
                int j0 = q * NR, nr = Math.Min(NR, nc - j0);
                float* panel = dst + (long)j0 * kc;
                for (int j = 0; j < NR; j++)
                {
                    if (j < nr)
                    {
                        w.WidenRow(jc + j0 + j, pc, seg);
                        for (int p = 0; p < kc; p++) panel[p * NR + j] = seg[p];
                    }
                    else for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
                }
            }
        }
    }

    /// <summary>Packs alpha · op(A)[ic:ic+mc, pc:pc+kc] into MR-tall panels, each kc×MR, zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(bool transA, float* a, int lda, int ic, int pc, int mc, int kc, float alpha, float* dst)
    {
        for (int i0 = 0; i0 < mc; i0 += MR)
        {
            int mr = Math.Min(MR, mc - i0);
            float* panel = dst + (long)i0 * kc;
            if (!transA && mr == MR && Avx.IsSupported)
            {
                // op(A)[i, p] = a[i*lda + p]: 6×8 blocks transposed in registers, 6 of each 8 lanes stored.
                float* src = a + (long)(ic + i0) * lda + pc;
                var mask = Vector256.Create(-1, -1, -1, -1, -1, -1, 0, 0).AsSingle();
                var va = Vector256.Create(alpha);
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                {
                    var r0 = Avx.Multiply(va, Avx.LoadVector256(src + p));
                    var r1 = Avx.Multiply(va, Avx.LoadVector256(src + lda + p));
                    var r2 = Avx.Multiply(va, Avx.LoadVector256(src + 2L * lda + p));
                    var r3 = Avx.Multiply(va, Avx.LoadVector256(src + 3L * lda + p));
                    var r4 = Avx.Multiply(va, Avx.LoadVector256(src + 4L * lda + p));
                    var r5 = Avx.Multiply(va, Avx.LoadVector256(src + 5L * lda + p));
                    Vector256<float> r6 = default, r7 = default;   // padding rows: lanes 6 and 7, not stored
                    Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                    float* d = panel + p * MR;
                    Avx.MaskStore(d, mask, r0);
                    Avx.MaskStore(d + MR, mask, r1);
                    Avx.MaskStore(d + 2 * MR, mask, r2);
                    Avx.MaskStore(d + 3 * MR, mask, r3);
                    Avx.MaskStore(d + 4 * MR, mask, r4);
                    Avx.MaskStore(d + 5 * MR, mask, r5);
                    Avx.MaskStore(d + 6 * MR, mask, r6);
                    Avx.MaskStore(d + 7 * MR, mask, r7);
                }
                for (; p < kc; p++)
                    for (int i = 0; i < MR; i++) panel[p * MR + i] = alpha * src[(long)i * lda + p];
            }
            else if (!transA)
            {
                // op(A)[i, p] = a[i*lda + p]
                for (int i = 0; i < MR; i++)
                {
                    if (i < mr)
                    {
                        float* src = a + (long)(ic + i0 + i) * lda + pc;
                        if (alpha == 1f) for (int p = 0; p < kc; p++) panel[p * MR + i] = src[p];
                        else for (int p = 0; p < kc; p++) panel[p * MR + i] = alpha * src[p];
                    }
                    else for (int p = 0; p < kc; p++) panel[p * MR + i] = 0f;
                }
            }
            else
            {
                // op(A)[i, p] = a[p*lda + i]: each p gives MR contiguous values.
                float* src = a + (long)pc * lda + ic + i0;
                for (int p = 0; p < kc; p++, src += lda, panel += MR)
                {
                    int i = 0;
                    for (; i < mr; i++) panel[i] = alpha * src[i];
                    for (; i < MR; i++) panel[i] = 0f;
                }
            }
        }
    }

    /// <summary>dst[c·ldd + r] = src[r·lds + c] for an 8×8 block (AVX).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8To(float* src, int lds, float* dst, int ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2L * lds);
        var r3 = Avx.LoadVector256(src + 3L * lds);
        var r4 = Avx.LoadVector256(src + 4L * lds);
        var r5 = Avx.LoadVector256(src + 5L * lds);
        var r6 = Avx.LoadVector256(src + 6L * lds);
        var r7 = Avx.LoadVector256(src + 7L * lds);
        Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(dst, r0);
        Avx.Store(dst + ldd, r1);
        Avx.Store(dst + 2 * ldd, r2);
        Avx.Store(dst + 3 * ldd, r3);
        Avx.Store(dst + 4 * ldd, r4);
        Avx.Store(dst + 5 * ldd, r5);
        Avx.Store(dst + 6 * ldd, r6);
        Avx.Store(dst + 7 * ldd, r7);
    }

    /// <summary>Transposes the 8×8 block whose rows are r0…r7 in place (row i becomes column i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves exchanged.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20); r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20); r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31); r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31); r7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>Walks the packed panels with the micro-kernel: C[mc×nc] += Ã · B̃ (or = when <paramref name="store"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(int mc, int nc, int kc, float* ap, float* bp, float* c, int ldc, bool store)
    {
        float* tile = stackalloc float[MR * NR];
        for (int j0 = 0; j0 < nc; j0 += NR)
        {
            int nr = Math.Min(NR, nc - j0);
            float* bpanel = bp + (long)j0 * kc;
            for (int i0 = 0; i0 < mc; i0 += MR)
            {
                int mr = Math.Min(MR, mc - i0);
                float* apanel = ap + (long)i0 * kc;
                float* cij = c + (long)i0 * ldc + j0;
                if (mr == MR && nr == NR)
                {
                    if (UsesAvx512) Kernel6x16Avx512(kc, apanel, bpanel, cij, ldc, store);
                    else if (IsAccelerated) Kernel6x16(kc, apanel, bpanel, cij, ldc, store);
                    else
                    {
                        if (store) for (int i = 0; i < MR; i++) new Span<float>(cij + (long)i * ldc, NR).Clear();
                        KernelScalar(kc, apanel, bpanel, cij, ldc, MR, NR);
                    }
                }
                else
                {
                    // Edge tile: compute the full padded tile into scratch, then add the valid part.
                    new Span<float>(tile, MR * NR).Clear();
                    if (UsesAvx512) Kernel6x16Avx512(kc, apanel, bpanel, tile, NR, store: false);
                    else if (IsAccelerated) Kernel6x16(kc, apanel, bpanel, tile, NR, store: false);
                    else KernelScalar(kc, apanel, bpanel, tile, NR, MR, NR);
                    for (int i = 0; i < mr; i++)
                        for (int j = 0; j < nr; j++)
                        {
                            if (store) cij[(long)i * ldc + j] = tile[i * NR + j];
                            else cij[(long)i * ldc + j] += tile[i * NR + j];
                        }
                }
            }
        }
    }

    /// <summary>The 6×16 register-blocked micro-kernel: C[6×16] += Σₚ a[p, 0..6]ᵀ · b[p, 0..16] (= when <paramref name="store"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, bool store)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += MR;
            b += NR;
        }
        if (store)
        {
            StoreRow(c, c00, c01); c += ldc;
            StoreRow(c, c10, c11); c += ldc;
            StoreRow(c, c20, c21); c += ldc;
            StoreRow(c, c30, c31); c += ldc;
            StoreRow(c, c40, c41); c += ldc;
            StoreRow(c, c50, c51);
            return;
        }
        AddRow(c, c00, c01); c += ldc;
        AddRow(c, c10, c11); c += ldc;
        AddRow(c, c20, c21); c += ldc;
        AddRow(c, c30, c31); c += ldc;
        AddRow(c, c40, c41); c += ldc;
        AddRow(c, c50, c51);
    }

    /// <summary>
    /// The 6×16 micro-kernel on AVX-512: row i of the tile is one Vector512. Even and odd p go to two accumulator sets
    /// (c and d), so 12 independent FMA chains hide the FMA latency; the sets are summed at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16Avx512(int kc, float* a, float* b, float* c, int ldc, bool store)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
        int p = 0;
        for (; p + 1 < kc; p += 2, a += 2 * MR, b += 2 * NR)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + NR);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            d0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[6]), b1, d0);
            d1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[7]), b1, d1);
            d2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[8]), b1, d2);
            d3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[9]), b1, d3);
            d4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[10]), b1, d4);
            d5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[11]), b1, d5);
        }
        if (p < kc)
        {
            var b0 = Vector512.Load(b);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
        }
        Row512(c, c0 + d0, store); c += ldc;
        Row512(c, c1 + d1, store); c += ldc;
        Row512(c, c2 + d2, store); c += ldc;
        Row512(c, c3 + d3, store); c += ldc;
        Row512(c, c4 + d4, store); c += ldc;
        Row512(c, c5 + d5, store);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row512(float* c, Vector512<float> v, bool store)
    {
        if (store) Vector512.Store(v, c);
        else Vector512.Store(Vector512.Load(c) + v, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> lo, Vector256<float> hi)
    {
        Vector256.Store(lo, c);
        Vector256.Store(hi, c + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector256<float> lo, Vector256<float> hi)
    {
        Vector256.Store(Vector256.Load(c) + lo, c);
        Vector256.Store(Vector256.Load(c + 8) + hi, c + 8);
    }

    private static void KernelScalar(int kc, float* a, float* b, float* c, int ldc, int mr, int nr)
    {
        for (int p = 0; p < kc; p++, a += MR, b += NR)
            for (int i = 0; i < mr; i++)
            {
                float ai = a[i];
                for (int j = 0; j < nr; j++) c[(long)i * ldc + j] += ai * b[j];
            }
    }
}
