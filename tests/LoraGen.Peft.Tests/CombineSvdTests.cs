using LoraGen.Combine;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>PEFT's svd combination: exact when the rank allows it, the best low-rank approximation otherwise.</summary>
public class CombineSvdTests
{
    private static float[] R(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)r.NextDouble() - 0.5f).ToArray();
    }

    private static double[] WeightedDelta(LoraFactors x, double wx, LoraFactors y, double wy)
    {
        var dx = x.Delta();
        var dy = y.Delta();
        return dx.Select((v, i) => wx * v + wy * dy[i]).ToArray();
    }

    [Fact]
    public void WithEnoughRankTheSvdReproducesTheWeightedSumExactly()
    {
        var x = new LoraFactors(R(3 * 20, 1), R(12 * 3, 2), 3, 20, 12, 2.0);
        var y = new LoraFactors(R(2 * 20, 3), R(12 * 2, 4), 2, 20, 12, 0.5);
        var c = AdapterCombination.Combine(CombinationMethod.Svd, [x, y], [0.7, -1.3], 5);
        Assert.Equal(5, c.Rank);
        Assert.Equal(1.0, c.Scaling);
        var expect = WeightedDelta(x, 0.7, y, -1.3);
        var got = c.Delta();
        for (int i = 0; i < got.Length; i++) Assert.Equal(expect[i], got[i], 1e-5);
    }

    [Fact]
    public void TruncationKeepsTheLargestSingularDirectionsAndOrthonormalRowsOfA()
    {
        // ΔW = 5·u1·v1ᵀ + 1·u2·v2ᵀ with orthonormal u, v: rank-1 svd must keep exactly the 5·u1·v1ᵀ part.
        int m = 4, n = 3;
        float[] u1 = [0.5f, 0.5f, 0.5f, 0.5f], u2 = [0.5f, -0.5f, 0.5f, -0.5f];
        float[] v1 = [1f, 0f, 0f], v2 = [0f, 0.6f, 0.8f];
        var x = new LoraFactors(v1, u1.Select(v => 5 * v).ToArray(), 1, n, m, 1.0);
        var y = new LoraFactors(v2, u2, 1, n, m, 1.0);
        var c = AdapterCombination.Combine(CombinationMethod.Svd, [y, x], [1.0, 1.0], 1);   // order must not matter
        var d = c.Delta();
        for (int o = 0; o < m; o++)
            for (int i = 0; i < n; i++) Assert.Equal(5 * u1[o] * v1[i], d[o * n + i], 1e-5);
        double norm = c.A.Sum(v => (double)v * v);
        Assert.Equal(1.0, norm, 1e-6);   // lora_A = Vhᵀ rows are unit vectors, σ lives in B as PEFT stores it
    }

    [Fact]
    public void NoRankKProductIsCloserThanTheSvd()
    {
        var x = new LoraFactors(R(4 * 16, 5), R(10 * 4, 6), 4, 16, 10, 1.5);
        var y = new LoraFactors(R(4 * 16, 7), R(10 * 4, 8), 4, 16, 10, 0.75);
        var expect = WeightedDelta(x, 0.6, y, 0.4);
        double Error(LoraFactors f) => Math.Sqrt(f.Delta().Select((v, i) => (v - expect[i]) * (v - expect[i])).Sum());
        var svd = AdapterCombination.Combine(CombinationMethod.Svd, [x, y], [0.6, 0.4], 4);
        var linear = AdapterCombination.Combine(CombinationMethod.Linear, [x, y], [0.6, 0.4], 4);
        Assert.True(Error(svd) <= Error(linear) + 1e-6, $"svd {Error(svd)} vs linear {Error(linear)}");
        Assert.True(Error(svd) <= Error(x) + 1e-6);
    }
}
