using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// DoRA (Liu et al. 2024, PEFT <c>use_dora=True</c>): the adapted weight is W' = m ⊙ (W + s·BA) / ‖W + s·BA‖, the
/// norm taken per output feature — per row of a Linear weight [out, in], per embedding dimension (a column of
/// [num, dim]) for an Embedding — with m [out] (or [dim]) a trainable magnitude initialised to that norm, so the
/// model starts unchanged. As PEFT (and section 4.3 of the paper), the norm is a constant in backward: gradients
/// reach m, A and B through m/‖·‖ and through s·BA, not through the norm.
/// </summary>
internal static class Dora
{
    /// <summary>
    /// ‖W + ΔW‖ per output feature, in float64 accumulation: Linear W, ΔW [out, in] → [out] (each row); Embedding
    /// W, ΔW [num, dim] → [dim] (each column).
    /// </summary>
    public static float[] WeightNorm(LayerKind kind, ReadOnlySpan<float> w, ReadOnlySpan<float> delta, int rows, int cols)
    {
        if (kind == LayerKind.Linear)
        {
            var norm = new float[rows];
            for (int o = 0; o < rows; o++)
            {
                double acc = 0;
                for (int i = 0, k = o * cols; i < cols; i++, k++) { double v = w[k] + delta[k]; acc += v * v; }
                norm[o] = (float)Math.Sqrt(acc);
            }
            return norm;
        }
        var sums = new double[cols];
        for (int n = 0; n < rows; n++)
            for (int d = 0, k = n * cols; d < cols; d++, k++) { double v = w[k] + delta[k]; sums[d] += v * v; }
        var result = new float[cols];
        for (int d = 0; d < cols; d++) result[d] = (float)Math.Sqrt(sums[d]);
        return result;
    }

    /// <summary>m / ‖W + ΔW‖ [features] as a tensor with a gradient path to m only (the norm is a constant).</summary>
    public static Tensor MagnitudeScale(Tensor magnitude, float[] norm)
    {
        var inv = new float[norm.Length];
        for (int i = 0; i < inv.Length; i++) inv[i] = 1f / norm[i];
        return magnitude.Mul(Tensor.FromArray(inv, inv.Length));
    }

    /// <summary>
    /// The Linear contribution PEFT adds to the base output y = x·Wᵀ + b (x̃ = dropout(x), k = m/‖W + s·BA‖):
    /// (k − 1) ⊙ (x̃·Wᵀ) + k ⊙ s·(x̃·Aᵀ)·Bᵀ. Without dropout y + this is k ⊙ (x·W'ᵀ) + b, the merged layer.
    /// </summary>
    /// <param name="weight">W [out, in].</param>
    /// <param name="delta">s·BA [out, in] (the current A and B).</param>
    /// <param name="xd">x̃ [..., in], the adapter input after dropout.</param>
    /// <param name="ad">The adapter (A [r, in], B [out, r], m [out]).</param>
    /// <param name="baseOutput">
    /// x̃·Wᵀ [..., out] when the caller has it already — the layer's output less its bias, before any adapter's
    /// contribution, which is x̃·Wᵀ when no dropout applies (x̃ = x) — or null to compute it here.
    /// </param>
    public static Tensor LinearContribution(Tensor weight, Tensor delta, Tensor xd, LoraAdapter ad, Tensor? baseOutput = null)
    {
        int outDim = weight.Dim(0), inDim = weight.Dim(1);
        var k = MagnitudeScale(ad.Magnitude!, WeightNorm(LayerKind.Linear, weight.Data, delta.Data, outDim, inDim));   // [out]
        var km1 = k - Tensor.Ones(outDim);                                                                               // [out]
        var baseOut = baseOutput ?? xd.Linear(weight);                                                                   // [..., out]
        var lora = xd.Linear(ad.A).Scale(ad.Scaling).Linear(ad.B);                                                       // [..., out]
        return baseOut * km1 + lora * k;
    }

    /// <summary>
    /// The Embedding output PEFT computes from the output so far y [..., dim] (base plus earlier adapters) and the LoRA
    /// rows e = s·Aᵀ[ids]·Bᵀ [..., dim]: k ⊙ (y + e), with k = m/‖W + s·(BA)ᵀ‖ taken per embedding dimension.
    /// </summary>
    public static Tensor EmbeddingOutput(Tensor weight, Tensor delta, Tensor y, Tensor e, LoraAdapter ad)
    {
        var k = MagnitudeScale(ad.Magnitude!, WeightNorm(LayerKind.Embedding, weight.Data, delta.Data, weight.Dim(0), weight.Dim(1)));   // [dim]
        return (y + e) * k;
    }

    /// <summary>
    /// Turns ΔW into the merge increment of a DoRA adapter in place: W' − W with W' = (m/‖W + ΔW‖) ⊙ (W + ΔW), the
    /// factor applied per output row (Linear) or per embedding column (Embedding) — PEFT's merge.
    /// </summary>
    public static void ToMergeIncrement(LayerKind kind, ReadOnlySpan<float> w, Span<float> delta, ReadOnlySpan<float> magnitude, int rows, int cols)
    {
        var norm = WeightNorm(kind, w, delta, rows, cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0, k = r * cols; c < cols; c++, k++)
            {
                int f = kind == LayerKind.Linear ? r : c;
                float factor = magnitude[f] / norm[f];
                delta[k] = factor * (w[k] + delta[k]) - w[k];
            }
    }
}
