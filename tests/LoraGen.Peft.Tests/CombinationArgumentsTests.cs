using LoraGen.Combine;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary><see cref="CombinationMethods.ParseArguments"/>: the one check of add_weighted_adapter's arguments both backends call.</summary>
public class CombinationArgumentsTests
{
    [Fact]
    public void TypesWithoutDensityGetNoOptions()
    {
        var (method, options) = CombinationMethods.ParseArguments(2, 2, "cat", density: null, "total", seed: 0);
        Assert.Equal(CombinationMethod.Cat, method);
        Assert.Null(options);
    }

    [Fact]
    public void TrimmingTypesCarryDensitySignAndSeed()
    {
        var (method, options) = CombinationMethods.ParseArguments(3, 3, "dare_ties_svd", 0.25, "frequency", seed: 9);
        Assert.Equal(CombinationMethod.DareTiesSvd, method);
        Assert.Equal(new TaskArithmeticOptions(0.25, MajoritySignMethod.Frequency, 9), options);
    }

    [Theory]
    [InlineData(2, 1, "linear", null, "total", "2 adapters and 1 weights")]
    [InlineData(0, 0, "linear", null, "total", "at least one")]
    [InlineData(2, 2, "average", null, "total", "combination type 'average'")]
    [InlineData(2, 2, "ties", null, "total", "ties needs a density")]
    [InlineData(2, 2, "ties", 0.5, "majority", "majority sign method 'majority'")]
    public void BadArgumentsAreNamed(int adapters, int weights, string type, double? density, string sign, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => CombinationMethods.ParseArguments(adapters, weights, type, density, sign, 0));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void DensityOutOfRangeIsRefused() =>
        Assert.ThrowsAny<ArgumentException>(() => CombinationMethods.ParseArguments(2, 2, "magnitude_prune", 1.5, "total", 0));
}
