namespace LoraGen.Bases;

/// <summary>
/// NoLA's per-layer factors as plain float arrays, for every consumer that needs ΔW without autograd (the managed
/// runtime's merge, <c>loragen merge</c>): A = Σᵢ αᵢAᵢ [r, in] and B = Σⱼ βⱼBⱼ [out, r] over the bases that
/// <see cref="NolaBasisGenerator"/> makes, so ΔW = s·B·A with s = lora_alpha / r. Each sum runs over i (resp. j) in
/// order, in float32.
/// </summary>
public static class NolaFactors
{
    /// <summary>
    /// A [r·in] and B [out·r], row-major, from the bases (A bases [k_A·r·in], B bases [k_B·out·r], as
    /// <see cref="NolaBasisGenerator.Generate"/> returns them) and the layer's coefficients α [k_A] and β [k_B].
    /// </summary>
    public static (float[] A, float[] B) Compute(ReadOnlySpan<float> basesA, ReadOnlySpan<float> basesB,
        ReadOnlySpan<float> alpha, ReadOnlySpan<float> beta, int r, int inDim, int outDim)
    {
        if (r < 1 || inDim < 1 || outDim < 1) throw new ArgumentException($"NoLA factors need r, in and out ≥ 1; got {r}, {inDim}, {outDim}.");
        int sizeA = checked(r * inDim), sizeB = checked(outDim * r);
        if (alpha.Length < 1 || basesA.Length != checked(alpha.Length * sizeA))
            throw new ArgumentException($"NoLA's A bases must be k_A·r·in = {alpha.Length}·{r}·{inDim} values for α [{alpha.Length}]; got {basesA.Length}.");
        if (beta.Length < 1 || basesB.Length != checked(beta.Length * sizeB))
            throw new ArgumentException($"NoLA's B bases must be k_B·out·r = {beta.Length}·{outDim}·{r} values for β [{beta.Length}]; got {basesB.Length}.");
        return (Combine(basesA, alpha, sizeA), Combine(basesB, beta, sizeB));
    }

    /// <summary>Σᵢ cᵢ·basisᵢ over bases of <paramref name="size"/> values each, one after another.</summary>
    private static float[] Combine(ReadOnlySpan<float> bases, ReadOnlySpan<float> coefficients, int size)
    {
        var sum = new float[size];
        for (int i = 0; i < coefficients.Length; i++)
        {
            float c = coefficients[i];
            var basis = bases.Slice(i * size, size);
            for (int e = 0; e < size; e++) sum[e] += c * basis[e];
        }
        return sum;
    }
}
