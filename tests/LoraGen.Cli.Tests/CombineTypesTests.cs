using LoraGen.Combine;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary>
/// <c>loragen combine</c> offers every combination type the PEFT unit implements, and what it writes is what
/// <see cref="AdapterCombination"/> computes for the same factors and settings (--density, --majority-sign,
/// --svd-rank, --svd-clamp, --seed), with the config PEFT would write (r = lora_alpha = the new rank).
/// </summary>
public sealed class CombineTypesTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private const string Q = "model.layers.0.self_attn.q_proj";
    private static readonly string AKey = AdapterKeys.A(Q, LayerKind.Linear), BKey = AdapterKeys.B(Q, LayerKind.Linear);

    private (LoraFactors X, LoraFactors Y) WriteTwo()
    {
        var x = new LoraFactors(Fixtures.Rand(2 * 5, 51), Fixtures.Rand(6 * 2, 52), 2, 5, 6, 4.0 / 2);
        var y = new LoraFactors(Fixtures.Rand(2 * 5, 53), Fixtures.Rand(6 * 2, 54), 2, 5, 6, 8.0 / 2);
        Fixtures.WriteAdapter(_f.P("x"), Fixtures.PeftConfig(2, 4, "[\"q_proj\"]"), [SafetensorsEntry.FromFloats(AKey, [2, 5], x.A), SafetensorsEntry.FromFloats(BKey, [6, 2], x.B)]);
        Fixtures.WriteAdapter(_f.P("y"), Fixtures.PeftConfig(2, 8, "[\"q_proj\"]"), [SafetensorsEntry.FromFloats(AKey, [2, 5], y.A), SafetensorsEntry.FromFloats(BKey, [6, 2], y.B)]);
        return (x, y);
    }

    public static TheoryData<string> Types() => [.. CombinationMethods.Names];

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_type_matches_the_PEFT_unit(string type)
    {
        var (x, y) = WriteTwo();
        var method = CombinationMethods.Parse(type);
        bool density = CombinationMethods.NeedsDensity(method), svd = CombinationMethods.IsSvd(method);
        var args = new List<string> { "combine", _f.P("x"), _f.P("y"), "--weights", "0.7,0.3", "--method", type, "--seed", "5", "-o", _f.P("out") };
        if (density) args.AddRange(["--density", "0.6", "--majority-sign", "frequency"]);
        if (svd) args.AddRange(["--svd-rank", "3", "--svd-clamp", "0.95"]);
        var (code, output, err) = Cli.Run([.. args]);
        Assert.True(code == 0, err);
        Assert.Contains($"({type},", output);

        int rank = svd ? 3 : AdapterCombination.CombinedRank(method, [2, 2]);
        var options = density ? new TaskArithmeticOptions(0.6, MajoritySignMethod.Frequency, 5) : null;   // the first layer's seed is --seed
        var expected = AdapterCombination.Combine(method, [x, y], [0.7, 0.3], rank, options, svd ? 0.95 : null);
        using var got = AdapterDirectory.Open(_f.P("out"));
        Assert.Equal(rank, got.Config.R);
        Assert.Equal(rank, got.Config.LoraAlpha);
        Assert.Equal(expected.A, got.Weights.ReadFloats(AKey));
        Assert.Equal(expected.B, got.Weights.ReadFloats(BKey));
    }

    [Fact]
    public void Svd_options_on_other_types_and_bad_values_are_usage_errors()
    {
        WriteTwo();
        string[] Args(params string[] more) => ["combine", _f.P("x"), _f.P("y"), "-o", _f.P("out"), .. more];
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "linear", "--svd-rank", "2")).Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "ties", "--density", "0.5", "--svd-clamp", "0.9")).Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "svd", "--svd-clamp", "1.5")).Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "svd", "--svd-rank", "0")).Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "ties_svd")).Code);                                   // no density
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "ties", "--density", "0.5", "--majority-sign", "mean")).Code);
        Assert.Equal(ExitCodes.Usage, Cli.Run(Args("--method", "average")).Code);
        Assert.False(Directory.Exists(_f.P("out")));
    }
}
