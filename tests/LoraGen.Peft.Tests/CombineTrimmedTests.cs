using LoraGen.Combine;
using LoraGen.SafeTensors;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Peft.Tests;

/// <summary>
/// PEFT's ties, magnitude_prune, dare_linear and dare_ties: the deterministic ones against PyTorch
/// (Fixtures/make_combine_fixtures.py), DARE by its defining properties.
/// </summary>
public class CombineTrimmedTests(ITestOutputHelper output)
{
    private static SafetensorsFile Fixture() => SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "combine.safetensors"));

    private static (LoraFactors?[] Layers, double[] Weights) Inputs(SafetensorsFile f)
    {
        var s = f.ReadFloats("scalings");
        var layers = Enumerable.Range(0, 3).Select(i => (LoraFactors?)new LoraFactors(f.ReadFloats($"A{i}"), f.ReadFloats($"B{i}"), 2, 5, 4, s[i])).ToArray();
        return (layers, f.ReadFloats("weights").Select(w => (double)w).ToArray());
    }

    private void Close(float[] expected, float[] actual, string what)
    {
        double worst = expected.Zip(actual, (e, a) => Math.Abs((double)e - a)).Max();
        output.WriteLine($"{what}: max |err| {worst:G3}");
        Assert.True(worst <= 1e-6, $"{what}: max |err| {worst}");
    }

    [Theory]
    [InlineData(MajoritySignMethod.Total, "total")]
    [InlineData(MajoritySignMethod.Frequency, "frequency")]
    public void TiesMatchesPyTorch(MajoritySignMethod sign, string name)
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var c = AdapterCombination.Combine(CombinationMethod.Ties, layers, weights, 2, new TaskArithmeticOptions(0.5, sign));
        Close(f.ReadFloats($"ties.{name}.A"), c.A, $"ties {name} A");
        Close(f.ReadFloats($"ties.{name}.B"), c.B, $"ties {name} B");
        Assert.Equal(1.0, c.Scaling);
    }

    [Fact]
    public void MagnitudePruneMatchesPyTorch()
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var c = AdapterCombination.Combine(CombinationMethod.MagnitudePrune, layers, weights, 2, new TaskArithmeticOptions(0.5));
        Close(f.ReadFloats("magnitude_prune.A"), c.A, "magnitude_prune A");
        Close(f.ReadFloats("magnitude_prune.B"), c.B, "magnitude_prune B");
    }

    [Fact]
    public void DareDropsRescalesAndRepeatsForTheSameSeed()
    {
        var rng = new Random(5);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() + 0.1f).ToArray();   // all positive: no sign conflicts
        var x = new LoraFactors(R(64 * 32), R(48 * 64), 64, 32, 48, 1.0);
        var layers = new LoraFactors?[] { x };
        var c = AdapterCombination.Combine(CombinationMethod.DareLinear, layers, [1.0], 64, new TaskArithmeticOptions(0.25, Seed: 9));
        int kept = 0;
        for (int i = 0; i < c.A.Length; i++)
        {
            if (c.A[i] == 0) continue;
            kept++;
            Assert.Equal(x.A[i] / 0.25f, c.A[i], 1e-5f);   // rescaled by 1/density
        }
        double fraction = (double)kept / c.A.Length;
        Assert.InRange(fraction, 0.22, 0.28);                 // 2048 Bernoulli(0.25) draws: ±4.5σ
        var again = AdapterCombination.Combine(CombinationMethod.DareLinear, layers, [1.0], 64, new TaskArithmeticOptions(0.25, Seed: 9));
        Assert.Equal(c.A, again.A);
        var other = AdapterCombination.Combine(CombinationMethod.DareLinear, layers, [1.0], 64, new TaskArithmeticOptions(0.25, Seed: 10));
        Assert.NotEqual(c.A, other.A);
        // With positive values only, dare_ties averages where dare_linear sums: one adapter gives the same result.
        var ties = AdapterCombination.Combine(CombinationMethod.DareTies, layers, [1.0], 64, new TaskArithmeticOptions(0.25, Seed: 9));
        Assert.Equal(c.A, ties.A);
    }

    [Fact]
    public void DensityOneIsLinearAndBadSettingsAreRefused()
    {
        using var f = Fixture();
        var (layers, weights) = Inputs(f);
        var linear = AdapterCombination.Combine(CombinationMethod.Linear, layers, weights, 2);
        var dare = AdapterCombination.Combine(CombinationMethod.DareLinear, layers, weights, 2, new TaskArithmeticOptions(1.0));
        Close(linear.A, dare.A, "dare_linear density 1 == linear");
        Assert.Throws<ArgumentException>(() => AdapterCombination.Combine(CombinationMethod.Ties, layers, weights, 2));
        Assert.Throws<ArgumentException>(() => AdapterCombination.Combine(CombinationMethod.Ties, layers, weights, 2, new TaskArithmeticOptions(0)));
        Assert.Throws<ArgumentException>(() => AdapterCombination.CombinedRank(CombinationMethod.DareTies, [2, 4]));
        Assert.Equal(CombinationMethod.DareTies, CombinationMethods.Parse("dare_ties"));
        Assert.Equal("magnitude_prune", CombinationMethods.PeftName(CombinationMethod.MagnitudePrune));
        Assert.Equal(Enum.GetValues<CombinationMethod>().Select(CombinationMethods.PeftName), CombinationMethods.Names);
        Assert.Contains("ties", Assert.Throws<ArgumentException>(() => CombinationMethods.Parse("task_arithmetic")).Message);
    }
}
