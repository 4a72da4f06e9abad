using System.Globalization;
using LoraGen.Contract;
using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// One rule set: for each value, LORA0001/0002/0003 fire exactly when <c>LoraGen.Contract.ConfigRules</c> (which the run-time
/// config loader asks too) rejects it.
/// </summary>
public class ConfigRulesAgreementTests
{
    public static TheoryData<int> Ranks() => [int.MinValue, -1, 0, 1, 2, 64];

    public static TheoryData<string> Reals() => ["-1", "-0.0", "0", "0.001", "0.5", "0.999", "1", "8", "double.NaN", "double.PositiveInfinity", "double.Epsilon"];

    [Theory]
    [MemberData(nameof(Ranks))]
    public Task RankVerdictIsConfigRules(int rank)
    {
        string value = rank.ToString(CultureInfo.InvariantCulture);
        string marked = ConfigRules.Rank(rank) is null ? value : "{|LORA0001:" + value + "|}";
        return AnalyzerAsync<LoraAttributeAnalyzer>($$"""
            public sealed partial class A : Module { [Lora(Rank = {{marked}})] readonly Linear p = new(512, 512); }
            """);
    }

    [Theory]
    [MemberData(nameof(Reals))]
    public Task AlphaVerdictIsConfigRules(string expression)
    {
        // Rank 1: every finite positive alpha below 16 keeps LORA0016 quiet except the tiny ones, marked too.
        double alpha = Evaluate(expression);
        string marked = ConfigRules.Alpha(alpha) is not null ? "{|LORA0002:" + expression + "|}"
            : alpha / 1 < 1.0 / 16 || alpha / 1 > 16 ? "{|LORA0016:" + expression + "|}"
            : expression;
        return AnalyzerAsync<LoraAttributeAnalyzer>($$"""
            public sealed partial class A : Module { [Lora(Rank = 1, Alpha = {{marked}})] readonly Linear p = new(512, 512); }
            """);
    }

    [Theory]
    [MemberData(nameof(Reals))]
    public Task DropoutVerdictIsConfigRules(string expression)
    {
        string marked = ConfigRules.Dropout(Evaluate(expression)) is null ? expression : "{|LORA0003:" + expression + "|}";
        return AnalyzerAsync<LoraAttributeAnalyzer>($$"""
            public sealed partial class A : Module { [Lora(Rank = 4, Dropout = {{marked}})] readonly Linear p = new(512, 512); }
            """);
    }

    private static double Evaluate(string expression) => expression switch
    {
        "double.NaN" => double.NaN,
        "double.PositiveInfinity" => double.PositiveInfinity,
        "double.Epsilon" => double.Epsilon,
        _ => double.Parse(expression, CultureInfo.InvariantCulture),
    };
}
