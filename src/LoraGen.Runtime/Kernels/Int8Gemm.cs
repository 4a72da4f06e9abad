using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LoraGen.Kernels;

/// <summary>
/// Products with an <see cref="Int8Weight"/> on integer dot-product instructions: the fp32 activations are quantized per
/// row (per token) to int8 with one fp32 scale, multiplied with the int8 weight in exact int32 arithmetic, and the int32
/// sums are scaled back to fp32 (dynamic quantization, as in LLM.int8's vector-wise scheme without the outliers).
/// <list type="bullet">
/// <item>Forward, Y = X·Wᵀ (W [n, k], per-output-channel scales s_w):
/// Y[r, j] = s_x[r] · s_w[j] · Σ_p q_x[r, p] · q_w[j, p].</item>
/// <item>Backward of the frozen base, dX = dY·W: the channel scales are folded into dY first (G = dY · diag(s_w)), G is
/// quantized per row, and dX[r, i] = s_g[r] · Σ_o q_g[r, o] · q_w[o, i] (<see cref="QuantizedBackward"/>; otherwise the
/// fp32 GEMM widens the int8 weight tile by tile).</item>
/// </list>
/// VPDPBUSD multiplies unsigned by signed bytes, so the activations go in as u = q + 128 ∈ [1, 255] and 128 · Σ_p q_w
/// (precomputed per output column) is subtracted from each int32 sum. The 6×16 micro-kernel keeps 12 Vector256&lt;int&gt;
/// accumulators; each step takes 4 values of k per lane. Without AVX-VNNI a scalar kernel computes the same int32 sums
/// (integer arithmetic is exact), and the fp32 epilogue is shared, so both paths give bit-identical results.
/// </summary>
public static unsafe class Int8Gemm
{
    /// <summary>Micro-tile rows (activation rows) and columns (output features; also the weight's packing width).</summary>
    internal const int MR = 6, NR = 16;

    /// <summary>Rows per parallel work item (a multiple of <see cref="MR"/>).</summary>
    private const int MC = 96;

    /// <summary>Below this many multiply-adds the work runs on one thread.</summary>
    private const long ParallelThreshold = 1L << 18;

    /// <summary>Tests set this to run the scalar kernel on a host that has AVX-VNNI.</summary>
    internal static bool ForceScalar { get; set; }

    /// <summary>Whether the AVX-VNNI (VPDPBUSD, 256-bit) micro-kernel runs.</summary>
    public static bool UsesVnni => AvxVnni.IsSupported && !ForceScalar;

    /// <summary>
    /// Whether dX = dY·W over an int8 base also runs in int8 (dY quantized per row); otherwise the fp32 GEMM widens the
    /// int8 weight (exactly its dequantized values). On by default; <c>LORAGEN_INT8_BACKWARD=0</c> turns it off.
    /// </summary>
    public static bool QuantizedBackward { get; set; } = Environment.GetEnvironmentVariable("LORAGEN_INT8_BACKWARD") != "0";

    /// <summary>
    /// The int8 path of <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ILowPrecisionWeight, float, Span{float}, int, bool)"/>:
    /// C[m×n] = alpha · A[m×k] · op(W) + beta · C with A not transposed. Returns false (nothing done) for the products it
    /// does not take: A transposed, or g·W while <see cref="QuantizedBackward"/> is off.
    /// </summary>
    internal static bool TrySgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, Int8Weight w, float beta, Span<float> c, int ldc, bool parallel)
    {
        if (transA || (!transB && !QuantizedBackward)) return false;
        if (transB) MultiplyTransposed(m, n, k, alpha, a, lda, w, beta, c, ldc, parallel);
        else Multiply(m, n, k, alpha, a, lda, w, beta, c, ldc, parallel);
        return true;
    }

    /// <summary>Forward: C[m×n] = alpha · A[m×k] · Wᵀ + beta · C, W [n, k] int8 (A quantized per row).</summary>
    public static void MultiplyTransposed(int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        Int8Weight w, float beta, Span<float> c, int ldc, bool parallel = true)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.Rows != n || w.Cols != k) throw new ArgumentException($"int8 gemm: the weight is {w.Rows}×{w.Cols}, x·Wᵀ needs {n}×{k}.");
        Check(m, n, k, a.Length, lda, c.Length, ldc);
        fixed (float* pa = a)
        fixed (float* pc = c)
        fixed (sbyte* pb = w.Packed)
        fixed (int* sums = w.RowSums)
        fixed (float* cs = w.Scales)
            Run(m, n, k, w.PaddedCols, alpha, pa, lda, null, pb, sums, cs, beta, pc, ldc, parallel);
    }

    /// <summary>
    /// Backward of the frozen base: C[m×n] = alpha · A[m×k] · W + beta · C, W [k, n] int8 with its row scales (the
    /// output channels of the forward), so A · diag(s_w) is quantized per row.
    /// </summary>
    public static void Multiply(int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        Int8Weight w, float beta, Span<float> c, int ldc, bool parallel = true)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.Rows != k || w.Cols != n) throw new ArgumentException($"int8 gemm: the weight is {w.Rows}×{w.Cols}, g·W needs {k}×{n}.");
        Check(m, n, k, a.Length, lda, c.Length, ldc);
        var t = w.Transposed;
        fixed (float* pa = a)
        fixed (float* pc = c)
        fixed (sbyte* pb = t.Packed)
        fixed (int* sums = t.ColumnSums)
        fixed (float* rs = w.Scales)
            Run(m, n, k, t.PaddedRows, alpha, pa, lda, rs, pb, sums, null, beta, pc, ldc, parallel);
    }

    private static void Check(int m, int n, int k, int aLen, int lda, int cLen, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"int8 gemm: negative size m={m} n={n} k={k}.");
        if (m > 0 && (lda < Math.Max(1, k) || (long)(m - 1) * lda + k > aLen))
            throw new ArgumentException($"int8 gemm: A ({m}×{k}, lda {lda}) does not fit in {aLen} floats.");
        if (m > 0 && n > 0 && (ldc < n || (long)(m - 1) * ldc + n > cLen))
            throw new ArgumentException($"int8 gemm: C ({m}×{n}, ldc {ldc}) does not fit in {cLen} floats.");
    }

    // Per calling thread: the quantized, packed activations and their row scales (grown, never shrunk).
    [ThreadStatic] private static byte[]? _packedA;
    [ThreadStatic] private static float[]? _rowScales;
    [ThreadStatic] private static float[]? _rowScratch;   // per worker thread: one prescaled row (backward)

    /// <summary>
    /// C = alpha · quant(A · diag(<paramref name="preScale"/>)) · B + beta · C, B packed in NR-column panels of
    /// [kp/4][NR][4] int8 codes with per-column code sums <paramref name="colSums"/> and optional column scales.
    /// </summary>
    private static void Run(int m, int n, int k, int kp, float alpha, float* a, int lda, float* preScale,
        sbyte* b, int* colSums, float* colScales, float beta, float* c, int ldc, bool parallel)
    {
        if (m == 0 || n == 0) return;
        if (beta != 0f && beta != 1f)
            for (int r = 0; r < m; r++) TensorPrimitives.Multiply(new Span<float>(c + (long)r * ldc, n), beta, new Span<float>(c + (long)r * ldc, n));
        bool store = beta == 0f;
        int panelsM = (m + MR - 1) / MR;
        long aBytes = (long)panelsM * MR * kp;
        var packedA = _packedA is { } pa0 && pa0.Length >= aBytes ? pa0 : _packedA = GC.AllocateArray<byte>((int)aBytes, pinned: true);
        var rowScales = _rowScales is { } rs0 && rs0.Length >= panelsM * MR ? rs0 : _rowScales = GC.AllocateArray<float>(panelsM * MR, pinned: true);
        int threads = parallel && (long)m * n * k >= ParallelThreshold ? Par.Threads : 1;
        int blocks = Math.Min(panelsM, Math.Max(threads, (m + MC - 1) / MC));
        fixed (byte* pA = packedA)
        fixed (float* pS = rowScales)
        {
            nint ap = (nint)pA, sp = (nint)pS, an = (nint)a, pre = (nint)preScale, bp = (nint)b, sums = (nint)colSums, cs = (nint)colScales, cp = (nint)c;
            if (threads <= 1)
            {
                for (int blk = 0; blk < blocks; blk++) Block(blk);
                return;
            }
            Par.For(blocks, Block);   // the runtime's one thread pool: one hand-off per call, like the fp32 GEMM

            void Block(int blk)
            {
                int p0 = (int)((long)panelsM * blk / blocks), p1 = (int)((long)panelsM * (blk + 1) / blocks);
                int r0 = p0 * MR, r1 = Math.Min(m, p1 * MR);
                Quantize((float*)an, lda, r0, r1, p1 * MR, k, kp, (float*)pre, alpha, (byte*)ap, (float*)sp);
                Tiles((byte*)ap, (float*)sp, p0, p1, m, n, kp, (sbyte*)bp, (int*)sums, (float*)cs, (float*)cp, ldc, store);
            }
        }
    }

    /// <summary>
    /// Quantizes rows [r0, r1) of A (times <paramref name="preScale"/> per column when given) to u8 = q + 128 in the
    /// packed panel layout [panel][kp/4][MR][4]; rows r1..rEnd (padding of the last panel) are zeroed.
    /// Row scale = alpha · absmax / 127 (0 for an all-zero row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quantize(float* a, int lda, int r0, int r1, int rEnd, int k, int kp, float* preScale, float alpha, byte* packed, float* scales)
    {
        byte* row = stackalloc byte[kp + 32];
        float[]? scratch = null;
        if (preScale != null) scratch = _rowScratch is { } s && s.Length >= k ? s : _rowScratch = new float[k];
        for (int r = r0; r < rEnd; r++)
        {
            int panel = r / MR, i = r % MR;
            byte* dst = packed + (long)panel * MR * kp + i * 4;
            if (r >= r1)
            {
                for (int g = 0; g < kp; g += 4) *(int*)(dst + g * MR) = 0;
                scales[r] = 0f;
                continue;
            }
            ReadOnlySpan<float> x = new(a + (long)r * lda, k);
            if (scratch is not null)
            {
                TensorPrimitives.Multiply(x, new ReadOnlySpan<float>(preScale, k), scratch.AsSpan(0, k));
                x = scratch.AsSpan(0, k);
            }
            scales[r] = QuantizeRow(x, row, kp) * alpha;
            for (int g = 0; g < kp; g += 4) *(int*)(dst + g * MR) = *(int*)(row + g);
        }
    }

    /// <summary>
    /// u8[p] = clamp(round(x[p] · 127 / absmax), −127, 127) + 128 (ties to even), padded with 128 to <paramref name="kp"/>;
    /// returns absmax / 127.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float QuantizeRow(ReadOnlySpan<float> x, byte* u8, int kp)
    {
        float max = x.Length == 0 ? 0f : MathF.Abs(TensorPrimitives.MaxMagnitude(x));
        float inv = max == 0f || !float.IsFinite(max) ? 0f : 127f / max;
        int p = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vinv = Vector256.Create(inv);
            var lo = Vector256.Create(-127);
            var hi = Vector256.Create(127);
            var off = Vector256.Create(128);
            fixed (float* px = x)
            {
                for (; p <= x.Length - 32; p += 32)
                {
                    var q0 = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32Native(Vector256.Round(Vector256.Load(px + p) * vinv)), lo), hi) + off;
                    var q1 = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32Native(Vector256.Round(Vector256.Load(px + p + 8) * vinv)), lo), hi) + off;
                    var q2 = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32Native(Vector256.Round(Vector256.Load(px + p + 16) * vinv)), lo), hi) + off;
                    var q3 = Vector256.Min(Vector256.Max(Vector256.ConvertToInt32Native(Vector256.Round(Vector256.Load(px + p + 24) * vinv)), lo), hi) + off;
                    var s01 = Vector256.Narrow(q0.AsUInt32(), q1.AsUInt32());
                    var s23 = Vector256.Narrow(q2.AsUInt32(), q3.AsUInt32());
                    Vector256.Narrow(s01, s23).Store(u8 + p);
                }
            }
        }
        for (; p < x.Length; p++)
            u8[p] = (byte)(Math.Clamp((int)MathF.Round(x[p] * inv, MidpointRounding.ToEven), -127, 127) + 128);
        for (; p < kp; p++) u8[p] = 128;
        return max == 0f ? 0f : max / 127f;
    }

    /// <summary>All micro-tiles of row panels [p0, p1) against every column panel, written into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tiles(byte* packedA, float* rowScales, int p0, int p1, int m, int n, int kp,
        sbyte* b, int* colSums, float* colScales, float* c, int ldc, bool store)
    {
        int* acc = stackalloc int[MR * NR];
        int groups = kp / 4;
        bool vnni = UsesVnni;
        for (int j0 = 0; j0 < n; j0 += NR)
        {
            sbyte* bpanel = b + (long)j0 * kp;
            int nr = Math.Min(NR, n - j0);
            for (int p = p0; p < p1; p++)
            {
                byte* apanel = packedA + (long)p * MR * kp;
                if (vnni) KernelVnni(groups, apanel, bpanel, acc);
                else KernelScalar(groups, apanel, bpanel, acc);
                int i0 = p * MR;
                Epilogue(acc, Math.Min(MR, m - i0), nr, rowScales + i0, colSums + j0, colScales == null ? null : colScales + j0, c + (long)i0 * ldc + j0, ldc, store);
            }
        }
    }

    /// <summary>acc[6×16] = Σ_g a[g][i]·b[g][j] (4 byte products per lane and step) with VPDPBUSD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelVnni(int groups, byte* a, sbyte* b, int* acc)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int g = 0; g < groups; g++, a += 4 * MR, b += 4 * NR)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 32);
            var a0 = Vector256.Create(*(int*)a).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, a0, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, a0, b1);
            var a1 = Vector256.Create(*(int*)(a + 4)).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a1, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a1, b1);
            var a2 = Vector256.Create(*(int*)(a + 8)).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, a2, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, a2, b1);
            var a3 = Vector256.Create(*(int*)(a + 12)).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, a3, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, a3, b1);
            var a4 = Vector256.Create(*(int*)(a + 16)).AsByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, a4, b0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, a4, b1);
            var a5 = Vector256.Create(*(int*)(a + 20)).AsByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, a5, b0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, a5, b1);
        }
        c00.Store(acc); c01.Store(acc + 8);
        c10.Store(acc + 16); c11.Store(acc + 24);
        c20.Store(acc + 32); c21.Store(acc + 40);
        c30.Store(acc + 48); c31.Store(acc + 56);
        c40.Store(acc + 64); c41.Store(acc + 72);
        c50.Store(acc + 80); c51.Store(acc + 88);
    }

    /// <summary>The same sums as <see cref="KernelVnni"/>, one product at a time (hosts without AVX-VNNI).</summary>
    private static void KernelScalar(int groups, byte* a, sbyte* b, int* acc)
    {
        new Span<int>(acc, MR * NR).Clear();
        for (int g = 0; g < groups; g++, a += 4 * MR, b += 4 * NR)
            for (int i = 0; i < MR; i++)
                for (int j = 0; j < NR; j++)
                {
                    int s = 0;
                    for (int t = 0; t < 4; t++) s += a[i * 4 + t] * b[j * 4 + t];
                    acc[i * NR + j] += s;
                }
    }

    /// <summary>C[i, j] (=|+=) (float)(acc[i, j] − 128·colSums[j]) · rowScale[i] (· colScale[j]) for the valid mr×nr part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Epilogue(int* acc, int mr, int nr, float* rowScales, int* colSums, float* colScales, float* c, int ldc, bool store)
    {
        if (nr == NR && Vector256.IsHardwareAccelerated)
        {
            var z0 = Vector256.Load(colSums) << 7;
            var z1 = Vector256.Load(colSums + 8) << 7;
            var s0 = colScales == null ? Vector256<float>.One : Vector256.Load(colScales);
            var s1 = colScales == null ? Vector256<float>.One : Vector256.Load(colScales + 8);
            for (int i = 0; i < mr; i++, c += ldc)
            {
                var rs = Vector256.Create(rowScales[i]);
                var v0 = Vector256.ConvertToSingle(Vector256.Load(acc + i * NR) - z0) * rs * s0;
                var v1 = Vector256.ConvertToSingle(Vector256.Load(acc + i * NR + 8) - z1) * rs * s1;
                if (!store)
                {
                    v0 += Vector256.Load(c);
                    v1 += Vector256.Load(c + 8);
                }
                v0.Store(c);
                v1.Store(c + 8);
            }
            return;
        }
        for (int i = 0; i < mr; i++, c += ldc)
            for (int j = 0; j < nr; j++)
            {
                float v = (float)(acc[i * NR + j] - (colSums[j] << 7)) * rowScales[i] * (colScales == null ? 1f : colScales[j]);
                c[j] = store ? v : c[j] + v;
            }
    }
}
