using LoraGen.Combine;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// PiSSA (Meng et al. 2024) and OLoRA (Büyükakyüz 2024) initialisation, as PEFT's <c>pissa_init</c>/<c>olora_init</c>:
/// A [r, in] and B [out, r] from W [out, in], and W replaced in place by the residual W − s·BA, so the adapted layer
/// starts exactly where the base did (up to float rounding).
/// <list type="bullet">
/// <item>PiSSA: W ≈ U_r·diag(S_r)·V_rᵀ (exact SVD, or randomized with N power iterations for <c>pissa_niter_N</c>);
/// B = U_r·diag(√(S_r/s)), A = diag(√(S_r/s))·V_rᵀ.</item>
/// <item>OLoRA: W = Q·R (reduced QR); B = Q[:, :r], A = R[:r, :].</item>
/// </list>
/// The SVD and QR are the PEFT unit's (<see cref="LowRankSvd"/>), computed in float64.
/// </summary>
internal static class ResidualInit
{
    public static (Tensor A, Tensor B) Apply(LoraConfig config, Tensor weight, ulong seed)
    {
        int outDim = weight.Dim(0), inDim = weight.Dim(1), r = config.Rank;
        float s = config.Scaling;
        if (r > Math.Min(outDim, inDim))
            throw new ArgumentException($"{config.Init} needs rank ≤ min(out, in) = {Math.Min(outDim, inDim)}, got {r}.");
        var w = new double[weight.Size];
        for (int i = 0; i < w.Length; i++) w[i] = weight.Data[i];
        var a = Tensor.Empty(r, inDim);
        var b = Tensor.Empty(outDim, r);
        if (config.Init == LoraInit.Pissa)
        {
            var (us, vt, sigma) = config.PissaNiter > 0
                ? LowRankSvd.RandomizedTopK(w, outDim, inDim, r, config.PissaNiter, seed)
                : LowRankSvd.TopK(w, outDim, inDim, r);   // us = U_r·diag(S_r) [out, r], vt = V_rᵀ [r, in]
            for (int c = 0; c < r; c++)
            {
                double root = Math.Sqrt(sigma[c] / s);               // √(S_c/s)
                double toU = sigma[c] > 0 ? 1 / sigma[c] : 0;        // us / S_c = U
                for (int o = 0; o < outDim; o++) b.Data[o * r + c] = (float)(us[o * r + c] * toU * root);
                for (int i = 0; i < inDim; i++) a.Data[c * inDim + i] = (float)(vt[c * inDim + i] * root);
            }
        }
        else
        {
            var (q, rr) = LowRankSvd.Qr(w, outDim, inDim);          // Q [out, p], R [p, in]
            int p = Math.Min(outDim, inDim);
            for (int o = 0; o < outDim; o++)
                for (int c = 0; c < r; c++) b.Data[o * r + c] = (float)q[o * p + c];
            for (int c = 0; c < r; c++)
                for (int i = 0; i < inDim; i++) a.Data[c * inDim + i] = (float)rr[c * inDim + i];
        }
        // W ← W − s·B·A, in float64 from the float32 factors the adapter will use.
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++)
            {
                double ba = 0;
                for (int c = 0; c < r; c++) ba += (double)b.Data[o * r + c] * a.Data[c * inDim + i];
                weight.Data[o * inDim + i] = (float)(w[o * inDim + i] - s * ba);
            }
        return (a, b);
    }
}
