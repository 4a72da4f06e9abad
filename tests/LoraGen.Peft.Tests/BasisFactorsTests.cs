using LoraGen.Bases;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// The tensor-free factor rules of VeRA and NoLA that the managed runtime's merge and <c>loragen merge</c> share:
/// NoLA's A = Σᵢ αᵢAᵢ and B = Σⱼ βⱼBⱼ on hand-checked numbers and on generated bases (against a float64 sum), VeRA's
/// slices of the shared projections and diag(λ_b)·B·diag(λ_d), and typed errors on inconsistent sizes.
/// </summary>
public class BasisFactorsTests
{
    [Fact]
    public void Nola_factors_are_the_coefficient_weighted_sums_of_the_bases()
    {
        // r = 1, in = 2, out = 2; two A bases [1, 2], three B bases [2, 1].
        float[] basesA = [1, 2, 10, 20];
        float[] basesB = [1, 0, 0, 1, 5, 5];
        var (a, b) = NolaFactors.Compute(basesA, basesB, [2f, 0.5f], [1f, -1f, 0.25f], r: 1, inDim: 2, outDim: 2);
        Assert.Equal([2 * 1 + 0.5f * 10, 2 * 2 + 0.5f * 20], a);
        Assert.Equal([1 * 1 + 0 + 0.25f * 5, 0 - 1 + 0.25f * 5], b);
    }

    [Fact]
    public void Nola_factors_of_generated_bases_match_a_float64_sum()
    {
        const int kA = 5, kB = 3, r = 4, inDim = 7, outDim = 6;
        var (basesA, basesB) = NolaBasisGenerator.Generate(42, "h.0.attn.c_attn", kA, kB, r, inDim, outDim);
        float[] alpha = [0.3f, -1.2f, 0.7f, 2f, -0.1f], beta = [0.9f, -0.4f, 1.5f];
        var (a, b) = NolaFactors.Compute(basesA, basesB, alpha, beta, r, inDim, outDim);
        Assert.Equal(r * inDim, a.Length);
        Assert.Equal(outDim * r, b.Length);
        for (int e = 0; e < a.Length; e++)
            Assert.Equal(Enumerable.Range(0, kA).Sum(i => (double)alpha[i] * basesA[i * r * inDim + e]), a[e], 1e-5);
        for (int e = 0; e < b.Length; e++)
            Assert.Equal(Enumerable.Range(0, kB).Sum(j => (double)beta[j] * basesB[j * outDim * r + e]), b[e], 1e-5);
    }

    [Fact]
    public void Nola_factors_refuse_bases_that_do_not_fit_the_coefficients()
    {
        var e = Assert.Throws<ArgumentException>(() => NolaFactors.Compute(new float[6], new float[4], [1f, 2f], [1f, 2f], 1, 2, 2));
        Assert.Contains("A bases", e.Message);
        e = Assert.Throws<ArgumentException>(() => NolaFactors.Compute(new float[4], new float[5], [1f, 2f], [1f, 2f], 1, 2, 2));
        Assert.Contains("B bases", e.Message);
    }

    [Fact]
    public void Vera_slices_the_shared_projection_and_scales_b_by_both_vectors()
    {
        // Shared A [2, 3], shared B [3, 2]; a layer [out 2, in 2].
        float[] sharedA = [1, 2, 3, 4, 5, 6];
        float[] sharedB = [1, 2, 3, 4, 5, 6];
        Assert.Equal([1f, 2, 4, 5], VeraFactors.SliceA(sharedA, r: 2, maxIn: 3, inDim: 2));
        var b = VeraFactors.SliceB(sharedB, r: 2, outDim: 2);
        Assert.Equal([1f, 2, 3, 4], b);
        Assert.Equal([1f * 1 * 10, 1f * 2 * 100, -1f * 3 * 10, -1f * 4 * 100], VeraFactors.ScaledB(b, [1f, -1f], [10f, 100f]));
    }

    [Fact]
    public void Vera_refuses_a_layer_larger_than_the_shared_projection()
    {
        Assert.Contains("3 columns", Assert.Throws<ArgumentException>(() => VeraFactors.SliceA(new float[6], 2, 3, 4)).Message);
        Assert.Contains("3 rows", Assert.Throws<ArgumentException>(() => VeraFactors.SliceB(new float[6], 2, 4)).Message);
        Assert.Throws<ArgumentException>(() => VeraFactors.ScaledB(new float[5], new float[2], new float[2]));
    }
}
