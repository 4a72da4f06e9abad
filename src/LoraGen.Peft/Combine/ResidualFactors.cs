namespace LoraGen.Combine;

/// <summary>
/// PiSSA (Meng et al. 2024) and OLoRA (Büyükakyüz 2024) initial factors, backend-neutral (float arrays, row-major),
/// as PEFT's <c>pissa_init</c>/<c>olora_init</c>: A [r, in] and B [out, r] from W [out, in] and the residual
/// W − s·BA the base layer then holds, so the adapted layer starts where the base did; and the conversion PEFT's
/// <c>path_initial_model_for_weight_conversion</c> makes at save time, to a plain LoRA adapter relative to the original W.
/// The SVD and QR are <see cref="LowRankSvd"/>'s, in float64.
/// </summary>
public static class ResidualFactors
{
    /// <summary>
    /// PiSSA: W ≈ U_r·diag(S_r)·V_rᵀ (exact SVD, or randomized with <paramref name="niter"/> &gt; 0 power iterations
    /// drawn from <paramref name="seed"/>); B = U_r·diag(√(S_r/s)), A = diag(√(S_r/s))·V_rᵀ.
    /// </summary>
    /// <param name="w">W [outDim, inDim], row-major, float64.</param>
    /// <param name="outDim">Rows of W (a Linear's output features).</param>
    /// <param name="inDim">Columns of W (a Linear's input features).</param>
    /// <param name="rank">r, at most min(outDim, inDim).</param>
    /// <param name="scaling">s, the adapter's scaling (α/r or α/√r).</param>
    /// <param name="niter">0 for the exact SVD, N &gt; 0 for PEFT's <c>pissa_niter_N</c>.</param>
    /// <param name="seed">The randomized SVD's draw.</param>
    public static (float[] A, float[] B) Pissa(double[] w, int outDim, int inDim, int rank, double scaling, int niter = 0, ulong seed = 0)
    {
        Check(w, outDim, inDim, rank, "PiSSA");
        int r = rank;
        var (us, vt, sigma) = niter > 0
            ? LowRankSvd.RandomizedTopK(w, outDim, inDim, r, niter, seed)
            : LowRankSvd.TopK(w, outDim, inDim, r);   // us = U_r·diag(S_r) [out, r], vt = V_rᵀ [r, in]
        var a = new float[r * inDim];
        var b = new float[outDim * r];
        for (int c = 0; c < r; c++)
        {
            double root = Math.Sqrt(sigma[c] / scaling);        // √(S_c/s)
            double toU = sigma[c] > 0 ? 1 / sigma[c] : 0;       // us / S_c = U
            for (int o = 0; o < outDim; o++) b[o * r + c] = (float)(us[o * r + c] * toU * root);
            for (int i = 0; i < inDim; i++) a[c * inDim + i] = (float)(vt[c * inDim + i] * root);
        }
        return (a, b);
    }

    /// <summary>OLoRA: W = Q·R (reduced QR); B = Q[:, :r], A = R[:r, :].</summary>
    /// <param name="w">W [outDim, inDim], row-major, float64.</param>
    /// <param name="outDim">Rows of W.</param>
    /// <param name="inDim">Columns of W.</param>
    /// <param name="rank">r, at most min(outDim, inDim).</param>
    public static (float[] A, float[] B) Olora(double[] w, int outDim, int inDim, int rank)
    {
        Check(w, outDim, inDim, rank, "OLoRA");
        int r = rank, p = Math.Min(outDim, inDim);
        var (q, rr) = LowRankSvd.Qr(w, outDim, inDim);          // Q [out, p], R [p, in]
        var a = new float[r * inDim];
        var b = new float[outDim * r];
        for (int o = 0; o < outDim; o++)
            for (int c = 0; c < r; c++) b[o * r + c] = (float)q[o * p + c];
        for (int c = 0; c < r; c++)
            for (int i = 0; i < inDim; i++) a[c * inDim + i] = (float)rr[c * inDim + i];
        return (a, b);
    }

    /// <summary>The residual W − s·B·A [out, in], in float64 from the float32 factors the adapter will use, rounded to float32.</summary>
    public static float[] Residual(double[] w, float[] a, float[] b, int outDim, int inDim, int rank, double scaling)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int r = rank;
        var result = new float[outDim * inDim];
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++)
            {
                double ba = 0;
                for (int c = 0; c < r; c++) ba += (double)b[o * r + c] * a[c * inDim + i];
                result[o * inDim + i] = (float)(w[o * inDim + i] - scaling * ba);
            }
        return result;
    }

    /// <summary>
    /// A PiSSA/OLoRA adapter as plain LoRA relative to the original W: W_res + s·BA = W + s·(BA − B₀A₀), so
    /// A' = [A; A₀] [2r, in] and B' = [B, −B₀] [out, 2r]; the rank doubles, and <see cref="PlainAlpha"/> keeps the scaling.
    /// </summary>
    public static (float[] A, float[] B) ToPlainLora(float[] a, float[] b, float[] a0, float[] b0, int outDim, int inDim, int rank)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(a0);
        ArgumentNullException.ThrowIfNull(b0);
        int r = rank;
        var pa = new float[2 * r * inDim];
        a.AsSpan(0, r * inDim).CopyTo(pa);
        a0.AsSpan(0, r * inDim).CopyTo(pa.AsSpan(r * inDim));
        var pb = new float[outDim * 2 * r];
        for (int o = 0; o < outDim; o++)
            for (int c = 0; c < r; c++)
            {
                pb[o * 2 * r + c] = b[o * r + c];
                pb[o * 2 * r + r + c] = -b0[o * r + c];
            }
        return (pa, pb);
    }

    /// <summary>α of the converted adapter (rank 2r) with the original scaling: 2α, or α·√2 with rsLoRA.</summary>
    public static double PlainAlpha(double alpha, bool useRsLora) => useRsLora ? alpha * Math.Sqrt(2) : 2 * alpha;

    private static void Check(double[] w, int outDim, int inDim, int rank, string what)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.LongLength != (long)outDim * inDim) throw new ArgumentException($"W has {w.LongLength} values; [{outDim}, {inDim}] needs {(long)outDim * inDim}.", nameof(w));
        if (rank < 1 || rank > Math.Min(outDim, inDim))
            throw new ArgumentException($"{what} needs 1 ≤ rank ≤ min(out, in) = {Math.Min(outDim, inDim)}, got {rank}.", nameof(rank));
    }
}
