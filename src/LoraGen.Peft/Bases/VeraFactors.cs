namespace LoraGen.Bases;

/// <summary>
/// VeRA's per-layer factors as plain float arrays, for every consumer that needs ΔW without autograd (the managed
/// runtime's merge, <c>loragen merge</c>): the layer's slices of the shared projections (A[:, :in] and B[:out, :], as
/// <see cref="VeraProjections.Generate"/> makes them or a file saves them) and B scaled by its two trainable vectors,
/// diag(λ_b)·B·diag(λ_d), so ΔW = diag(λ_b)·B·diag(λ_d)·A (PEFT's VeRA has no α scaling).
/// </summary>
public static class VeraFactors
{
    /// <summary>A[:, :<paramref name="inDim"/>] [r·in] of the shared A [r, <paramref name="maxIn"/>] (row-major).</summary>
    public static float[] SliceA(ReadOnlySpan<float> sharedA, int r, int maxIn, int inDim)
    {
        if (sharedA.Length != checked(r * maxIn)) throw new ArgumentException($"VeRA's shared A must be [r, max_in] = [{r}, {maxIn}]; got {sharedA.Length} values.");
        if (inDim < 1 || inDim > maxIn) throw new ArgumentException($"VeRA's shared A has {maxIn} columns; a layer with {inDim} inputs needs at least that many.");
        var s = new float[r * inDim];
        for (int k = 0; k < r; k++) sharedA.Slice(k * maxIn, inDim).CopyTo(s.AsSpan(k * inDim, inDim));
        return s;
    }

    /// <summary>B[:<paramref name="outDim"/>, :] [out·r] of the shared B [max_out, r] (row-major).</summary>
    public static float[] SliceB(ReadOnlySpan<float> sharedB, int r, int outDim)
    {
        if (r < 1 || sharedB.Length % r != 0) throw new ArgumentException($"VeRA's shared B must be [max_out, r = {r}]; got {sharedB.Length} values.");
        if (outDim < 1 || outDim > sharedB.Length / r) throw new ArgumentException($"VeRA's shared B has {sharedB.Length / r} rows; a layer with {outDim} outputs needs at least that many.");
        return sharedB[..(outDim * r)].ToArray();
    }

    /// <summary>diag(λ_b)·B·diag(λ_d) [out·r] for the layer's B [out, r] (row-major), λ_b [out] and λ_d [r].</summary>
    public static float[] ScaledB(ReadOnlySpan<float> b, ReadOnlySpan<float> lambdaB, ReadOnlySpan<float> lambdaD)
    {
        int outDim = lambdaB.Length, r = lambdaD.Length;
        if (b.Length != checked(outDim * r)) throw new ArgumentException($"VeRA's B must be [out, r] = [{outDim}, {r}] for λ_b [{outDim}] and λ_d [{r}]; got {b.Length} values.");
        var scaled = new float[outDim * r];
        for (int o = 0; o < outDim; o++)
            for (int k = 0; k < r; k++) scaled[o * r + k] = lambdaB[o] * b[o * r + k] * lambdaD[k];
        return scaled;
    }
}
