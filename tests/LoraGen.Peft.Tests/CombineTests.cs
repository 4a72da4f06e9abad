using LoraGen.Combine;
using LoraGen.Peft;
using Xunit;

namespace LoraGen.Peft.Tests;

public class CombineTests
{
    private static float[] R(int n, int seed) { var r = new Random(seed); return Enumerable.Range(0, n).Select(_ => (float)r.NextDouble() - 0.5f).ToArray(); }

    [Fact]
    public void Cat_product_is_the_weighted_sum_of_deltas_and_a_missing_layer_leaves_zeros()
    {
        var x = new LoraFactors(R(6, 1), R(8, 2), 2, 3, 4, 2.0);
        var y = new LoraFactors(R(3, 3), R(4, 4), 1, 3, 4, 0.5);
        int rank = AdapterCombination.CombinedRank(CombinationMethod.Cat, [2, 1, 3]);
        Assert.Equal(6, rank);
        var c = AdapterCombination.Combine(CombinationMethod.Cat, [x, y, null], [0.7, -0.3, 1.0], rank);
        var d = c.Delta();
        var dx = x.Delta(); var dy = y.Delta();
        for (int i = 0; i < d.Length; i++) Assert.Equal(0.7 * dx[i] - 0.3 * dy[i], d[i], 1e-6);
        Assert.All(c.A.Skip(3 * 3), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Linear_takes_square_roots_and_refuses_unequal_ranks()
    {
        var x = new LoraFactors(R(6, 1), R(8, 2), 2, 3, 4, 2.0);
        var y = new LoraFactors(R(6, 3), R(8, 4), 2, 3, 4, 4.0);
        var c = AdapterCombination.Combine(CombinationMethod.Linear, [x, y], [0.5, 0.25], 2);
        for (int i = 0; i < 6; i++) Assert.Equal(1.0 * x.A[i] + 1.0 * y.A[i], c.A[i], 1e-6);
        Assert.Equal(1.0, c.Scaling);
        Assert.Throws<ArgumentException>(() => AdapterCombination.CombinedRank(CombinationMethod.Linear, [2, 4]));
        Assert.Equal(4, AdapterCombination.CombinedRank(CombinationMethod.Svd, [2, 4]));
    }

    [Fact]
    public void Config_unites_targets_and_sets_alpha_to_rank()
    {
        var a = new AdapterConfig { R = 4, LoraAlpha = 8, TargetModules = new[] { "v_proj", "q_proj" } };
        var b = new AdapterConfig { R = 4, LoraAlpha = 16, TargetModules = new[] { "k_proj", "q_proj" } };
        var c = AdapterCombination.CombineConfigs([a, b], 8);
        Assert.Equal(8, c.R);
        Assert.Equal(8, c.LoraAlpha);
        Assert.Equal(["k_proj", "q_proj", "v_proj"], c.TargetModules!.Items);
        Assert.Throws<ArgumentException>(() => AdapterCombination.CombineConfigs([a, a with { ModulesToSave = ["score"] }], 4));
    }
}
