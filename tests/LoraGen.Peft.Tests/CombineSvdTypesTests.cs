using LoraGen.Combine;
using LoraGen.SafeTensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Peft.Tests;

/// <summary>
/// PEFT's ties_svd, magnitude_prune_svd, dare_linear_svd and dare_ties_svd (the merge on each whole ΔWᵢ, then a truncated
/// SVD) and svd_clamp: the deterministic ones against PyTorch (Fixtures/make_combine_svd_fixtures.py), DARE and the
/// clamp by their defining properties.
/// </summary>
public class CombineSvdTypesTests(ITestOutputHelper output)
{
    private static SafetensorsFile Fixture() => SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "combine_svd.safetensors"));

    private static (LoraFactors?[] Layers, double[] Weights) Inputs(SafetensorsFile f)
    {
        var s = f.ReadFloats("scalings");
        var r = f.ReadFloats("ranks");
        var layers = Enumerable.Range(0, 3).Select(i => (LoraFactors?)new LoraFactors(f.ReadFloats($"A{i}"), f.ReadFloats($"B{i}"), (int)r[i], 7, 6, s[i])).ToArray();
        return (layers, f.ReadFloats("weights").Select(w => (double)w).ToArray());
    }

    private void Close(float[] expected, float[] actual, string what)
    {
        double worst = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        output.WriteLine($"{what}: max |err| {worst:G3}");
        Assert.True(worst <= 2e-5, $"{what}: max |err| {worst}");
    }

    [Theory]
    [InlineData(MajoritySignMethod.Total, "total")]
    [InlineData(MajoritySignMethod.Frequency, "frequency")]
    public void TiesSvdMatchesPyTorch(MajoritySignMethod sign, string name)
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var c = AdapterCombination.Combine(CombinationMethod.TiesSvd, layers, weights, 3, new TaskArithmeticOptions(0.5, sign));
        Assert.Equal(3, c.Rank);
        Assert.Equal(1.0, c.Scaling);
        Close(f.ReadFloats($"ties_svd.{name}.BA"), c.Delta(), $"ties_svd {name} B·A");
    }

    [Fact]
    public void MagnitudePruneSvdMatchesPyTorch()
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var c = AdapterCombination.Combine(CombinationMethod.MagnitudePruneSvd, layers, weights, 3, new TaskArithmeticOptions(0.5));
        Close(f.ReadFloats("magnitude_prune_svd.BA"), c.Delta(), "magnitude_prune_svd B·A");
    }

    [Fact]
    public void TheSvdTypesTakeAnyRanksAndTheLargestByDefault()
    {
        Assert.Equal(4, AdapterCombination.CombinedRank(CombinationMethod.TiesSvd, [2, 4, 3]));
        Assert.Equal(4, AdapterCombination.CombinedRank(CombinationMethod.DareLinearSvd, [4, 1]));
        Assert.True(CombinationMethods.IsSvd(CombinationMethod.MagnitudePruneSvd));
        Assert.False(CombinationMethods.IsSvd(CombinationMethod.Ties));
        Assert.True(CombinationMethods.NeedsDensity(CombinationMethod.DareTiesSvd));
        Assert.Equal(CombinationMethod.DareTiesSvd, CombinationMethods.Parse("dare_ties_svd"));
        // Every combination_type PEFT's add_weighted_adapter documents.
        Assert.Equal(["linear", "cat", "svd", "ties", "dare_linear", "dare_ties", "magnitude_prune", "ties_svd", "dare_linear_svd", "dare_ties_svd", "magnitude_prune_svd"],
            CombinationMethods.Names);
    }

    [Fact]
    public void DareLinearSvdWithDensityOneIsTheSvdAndRepeatsForTheSameSeed()
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var svd = AdapterCombination.Combine(CombinationMethod.Svd, layers, weights, 3);
        var dare1 = AdapterCombination.Combine(CombinationMethod.DareLinearSvd, layers, weights, 3, new TaskArithmeticOptions(1.0));
        Close(svd.Delta(), dare1.Delta(), "dare_linear_svd at density 1 vs svd");

        var x = AdapterCombination.Combine(CombinationMethod.DareTiesSvd, layers, weights, 3, new TaskArithmeticOptions(0.5, Seed: 4));
        var again = AdapterCombination.Combine(CombinationMethod.DareTiesSvd, layers, weights, 3, new TaskArithmeticOptions(0.5, Seed: 4));
        var other = AdapterCombination.Combine(CombinationMethod.DareTiesSvd, layers, weights, 3, new TaskArithmeticOptions(0.5, Seed: 5));
        Assert.Equal(x.Delta(), again.Delta());
        Assert.NotEqual(x.Delta(), other.Delta());
        Assert.Throws<ArgumentException>(() => AdapterCombination.Combine(CombinationMethod.TiesSvd, layers, weights, 3));   // no density
    }

    [Fact]
    public void DareLinearSvdDropsEntriesOfTheWholeDeltaNotOfTheFactors()
    {
        // One rank-1 adapter with all-positive factors: ΔW is dense and positive. Dropping entries of ΔW (PEFT's *_svd)
        // then taking a full-rank SVD gives back a ΔW with exact zeros where entries were dropped; dropping factor entries
        // (dare_linear) could not zero single entries of an outer product in that pattern.
        var a = Enumerable.Range(0, 8).Select(i => 1f + i * 0.1f).ToArray();
        var b = Enumerable.Range(0, 6).Select(i => 2f - i * 0.1f).ToArray();
        var x = new LoraFactors(a, b, 1, 8, 6, 1.0);
        var c = AdapterCombination.Combine(CombinationMethod.DareLinearSvd, [x], [1.0], 6, new TaskArithmeticOptions(0.5, Seed: 3));
        var d = c.Delta();
        var full = x.Delta();
        int zeros = 0;
        for (int i = 0; i < d.Length; i++)
        {
            if (Math.Abs(d[i]) < 1e-4) { zeros++; continue; }
            Assert.Equal(full[i] / 0.5f, d[i], 1e-3f);   // kept entries rescaled by 1/density
        }
        Assert.InRange(zeros, 10, 38);   // 48 Bernoulli(0.5) drops
    }

    [Fact]
    public void SvdClampBoundsEveryEntryByTheQuantile()
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var plain = AdapterCombination.Combine(CombinationMethod.Svd, layers, weights, 3);
        var all = plain.B.Concat(plain.A).Order().ToArray();
        double pos = 0.9 * (all.Length - 1);
        int lo = (int)pos;
        float hi = all[lo] + (all[lo + 1] - all[lo]) * (float)(pos - lo);   // torch.quantile's linear interpolation
        var clamped = AdapterCombination.Combine(CombinationMethod.Svd, layers, weights, 3, svdClamp: 0.9);
        foreach (var (p, c) in plain.B.Concat(plain.A).Zip(clamped.B.Concat(clamped.A)))
            Assert.Equal(Math.Clamp(p, -hi, hi), c);
        Assert.Contains(clamped.B.Concat(clamped.A), v => v == hi);                               // something was clamped
        var none = AdapterCombination.Combine(CombinationMethod.MagnitudePruneSvd, layers, weights, 3, new TaskArithmeticOptions(0.5));
        var one = AdapterCombination.Combine(CombinationMethod.MagnitudePruneSvd, layers, weights, 3, new TaskArithmeticOptions(0.5), svdClamp: 1.0);
        float max = none.B.Concat(none.A).Max();                                                   // the 1-quantile is the maximum
        foreach (var (p, c) in none.B.Concat(none.A).Zip(one.B.Concat(one.A)))
            Assert.Equal(Math.Clamp(p, -max, max), c);
        Assert.Throws<ArgumentException>(() => AdapterCombination.Combine(CombinationMethod.Linear, layers.Take(1).ToArray(), [1.0], 2, svdClamp: 0.5));
        Assert.Throws<ArgumentException>(() => AdapterCombination.Combine(CombinationMethod.Svd, layers, weights, 3, svdClamp: 1.5));
    }

    [Fact]
    public void LargeLayersGetARandomizedSvdCloseToTheExactOne()
    {
        // 300 × 290 exceeds the exact limit: magnitude_prune_svd of two rank-8 adapters at density 0.3 (a full-rank ΔW
        // whose spectrum decays slowly after the first 16) against the exact top-8 of the same ΔW.
        const int m = 300, n = 290, r = 8, k = 8;
        Assert.True(Math.Min(m, n) > 256);
        var rng = new Random(17);
        float[] R(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var x = new LoraFactors(R(r * n), R(m * r), r, n, m, 2.0);
        var y = new LoraFactors(R(r * n), R(m * r), r, n, m, 1.0);
        var options = new TaskArithmeticOptions(0.3);
        var c = AdapterCombination.Combine(CombinationMethod.MagnitudePruneSvd, [x, y], [0.5, 0.5], k, options);

        // The exact reference: the same merge, dense, then LowRankSvd.TopK.
        var dx = x.Delta();
        var dy = y.Delta();
        int keep = (int)(0.3 * dx.Length);
        float[] Prune(float[] d)
        {
            var order = Enumerable.Range(0, d.Length).OrderByDescending(i => Math.Abs(d[i])).ThenBy(i => i).Take(keep);
            var p = new float[d.Length];
            foreach (int i in order) p[i] = d[i];
            return p;
        }
        var px = Prune(dx);
        var py = Prune(dy);
        var merged = px.Select((v, i) => 0.5 * v + 0.5 * py[i]).ToArray();
        var (eb, ea, _) = LowRankSvd.TopK(merged, m, n, k);
        var exact = new LoraFactors(ea, eb, k, n, m, 1.0).Delta();
        var got = c.Delta();
        double err = Math.Sqrt(exact.Zip(got, (e, g) => ((double)e - g) * ((double)e - g)).Sum());
        double norm = Math.Sqrt(exact.Sum(e => (double)e * e));
        double residualExact = Math.Sqrt(merged.Zip(exact, (w, e) => (w - e) * (w - e)).Sum());
        double residualGot = Math.Sqrt(merged.Zip(got, (w, g) => (w - g) * (w - g)).Sum());
        output.WriteLine($"randomized vs exact rank-{k}: relative difference {err / norm:G3}; residual {residualGot:G6} vs optimal {residualExact:G6}");
        Assert.True(residualGot <= residualExact * 1.001, $"residual {residualGot} vs optimal {residualExact}");   // within 0.1% of the Eckart–Young optimum
        Assert.True(err / norm <= 1e-3, $"relative difference {err / norm}");
    }
}
