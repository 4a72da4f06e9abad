using System.Reflection;
using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using LoraGen.Contract;
using LoraGen.Lora;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// LORA0204 (LoRA+ ratio) and LORA0205–LORA0209 (AddWeightedAdapter's constant arguments): positive and negative cases
/// with exact messages, their fixes, and the runtime API they recognize (names resolved by reflection).
/// </summary>
public class CombinationRuleTests
{
    private const string Lora = "using LoraGen.Lora;\n";

    // ---- LORA0204: LoRA+ ratio

    [Fact]
    public Task RatiosNotAboveOneAreReported() => Verify.AnalyzerAsync<LoraPlusRatioAnalyzer>(Lora + """
        static class Train
        {
            static void Run(LoraModelController lora)
            {
                LoraPlus.Groups(lora, 1e-3f, {|#0:1f|});
                LoraPlus.CreateOptimizer(lora, 1e-3f, lrRatio: {|#1:0.5f|});
                LoraPlus.CreateOptimizer(lora, lr: 1e-3f, weightDecay: 0.01f, lrRatio: {|#2:0|});
                const float ratio = -2f;
                LoraPlus.Groups(lora, 1e-3f, {|#3:ratio|});
                LoraPlus.Groups(lora, 1e-3f);                 // PEFT's default 16
                LoraPlus.Groups(lora, 1e-3f, 1.5f);
                LoraPlus.CreateOptimizer(lora, 0.5f, 16f);    // lr below 1 is no ratio
                float runtime = float.Parse("0.5");
                LoraPlus.Groups(lora, 1e-3f, runtime);        // not a constant
            }
        }
        """,
        Verify.Diagnostic("LORA0204", 0, "LoRA+ ratio 1 is plain LoRA: A and B get the same learning rate; LoRA+ trains B λ times faster than A with λ ≫ 1 (PEFT's default loraplus_lr_ratio is 16)"),
        Verify.Diagnostic("LORA0204", 1, "LoRA+ ratio 0.5 makes B learn slower than A, the opposite of LoRA+; LoRA+ trains B λ times faster than A with λ ≫ 1 (PEFT's default loraplus_lr_ratio is 16)"),
        Verify.Diagnostic("LORA0204", 2, "LoRA+ ratio 0 is not positive: LoraPlus throws when it builds the parameter groups; LoRA+ trains B λ times faster than A with λ ≫ 1 (PEFT's default loraplus_lr_ratio is 16)"),
        Verify.Diagnostic("LORA0204", 3, "LoRA+ ratio -2 is not positive: LoraPlus throws when it builds the parameter groups; LoRA+ trains B λ times faster than A with λ ≫ 1 (PEFT's default loraplus_lr_ratio is 16)"));

    [Fact]
    public Task RatioFixWritesPeftsDefault() => Verify.CodeFixAsync<LoraPlusRatioAnalyzer, UsePeftValueCodeFix>(Lora + """
        static class Train
        {
            static void Run(LoraModelController lora)
            {
                LoraPlus.Groups(lora, 1e-3f, {|LORA0204:1f|});
                LoraPlus.CreateOptimizer(lora, 1e-3f, lrRatio: {|LORA0204:0.25f|}, weightDecay: 0.1f);
            }
        }
        """, Lora + """
        static class Train
        {
            static void Run(LoraModelController lora)
            {
                LoraPlus.Groups(lora, 1e-3f, 16);
                LoraPlus.CreateOptimizer(lora, 1e-3f, lrRatio: 16, weightDecay: 0.1f);
            }
        }
        """);

    // ---- LORA0205: unknown combination type

    [Fact]
    public Task UnknownCombinationTypesAreReported() => Verify.AnalyzerAsync<WeightedAdapterAnalyzer>(Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora, string fromUser)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", {|#0:"Linear"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "d", combinationType: {|#1:"dare-ties"|}, density: 0.5);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "e", {|#2:"tie_svd"|}, density: 0.5);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "f", {|#3:"average"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "g", "magnitude_prune_svd", density: 0.3);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "h");                      // svd, PEFT's default
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "i", fromUser);            // not a constant
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "j", "ties", density: 0.5, majoritySignMethod: {|#4:"Total"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "k", "ties", density: 0.5, majoritySignMethod: {|#5:"vote"|});
            }
        }
        """,
        Verify.Diagnostic("LORA0209", 4, "Majority sign method \"Total\" is not \"total\" or \"frequency\"; did you mean \"total\"?"),
        Verify.Diagnostic("LORA0209", 5, "Majority sign method \"vote\" is not \"total\" or \"frequency\""),
        Verify.Diagnostic("LORA0205", 0, $"Combination type \"Linear\" is not one of PEFT's: {Names}; did you mean \"linear\"?"),
        Verify.Diagnostic("LORA0205", 1, $"Combination type \"dare-ties\" is not one of PEFT's: {Names}; did you mean \"dare_ties\"?"),
        Verify.Diagnostic("LORA0205", 2, $"Combination type \"tie_svd\" is not one of PEFT's: {Names}; did you mean \"ties_svd\"?"),
        Verify.Diagnostic("LORA0205", 3, $"Combination type \"average\" is not one of PEFT's: {Names}"));

    private static string Names => string.Join(", ", CombinationTypes.All);

    [Fact]
    public Task CombinationTypeFixPicksTheClosestNameAndOnlyWhenObvious() => Verify.CodeFixAsync<WeightedAdapterAnalyzer, UsePeftValueCodeFix>(Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", {|LORA0205:"SVD"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "d", {|LORA0205:"dare_linar"|}, density: 0.5);
            }
        }
        """, Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", "svd");
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "d", "dare_linear", density: 0.5);
            }
        }
        """);

    private const string NoObviousName = Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "e", {|LORA0205:"sum"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "f", "ties", 4, 0.5, {|LORA0209:"majority"|});
            }
        }
        """;

    [Fact]
    public Task NoFixIsOfferedWithoutAnObviousName() => Verify.CodeFixAsync<WeightedAdapterAnalyzer, UsePeftValueCodeFix>(NoObviousName, NoObviousName);

    [Theory]
    [InlineData("cat", "cat")]
    [InlineData("CAT", "cat")]
    [InlineData("dare linear svd", "dare_linear_svd")]
    [InlineData("magnitude_prun", "magnitude_prune")]
    [InlineData("ties_sv", "ties_svd")]
    [InlineData("svn", "svd")]
    [InlineData("sum", null)]
    [InlineData("lin", null)]
    [InlineData("dare", null)]
    public void ClosestName(string typed, string? expected) =>
        Assert.Equal(expected, WeightedAdapterAnalyzer.Closest(typed, CombinationTypes.All));

    // ---- LORA0206: adapters vs weights

    [Fact]
    public Task DifferentCountsAreReportedWhenBothListsAreWrittenOut() => Verify.AnalyzerAsync<WeightedAdapterAnalyzer>(Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora, double[] someWeights)
            {
                lora.AddWeightedAdapter(["a", "b", "c"], {|#0:[0.5, 0.5]|}, "m", "linear");
                lora.AddWeightedAdapter(new[] { "a", "b" }, {|#1:new double[] { 1.0 }|}, "n", "cat");
                lora.AddWeightedAdapter(new List<string> { "a", "b" }, [1.0], "o", "cat");     // a list built by code: not judged
                lora.AddWeightedAdapter(["a", "b"], someWeights, "p", "cat");
                lora.AddWeightedAdapter(["a", "b"], [.. someWeights], "q", "cat");            // a spread: not judged
                lora.AddWeightedAdapter(["a", "b"], new[] { 0.3, 0.7 }, "r", "cat");
            }
        }
        """,
        Verify.Diagnostic("LORA0206", 0, "3 adapters are combined with 2 weights: give one weight per adapter"),
        Verify.Diagnostic("LORA0206", 1, "2 adapters are combined with 1 weights: give one weight per adapter"));

    // ---- LORA0207: adapters attached with settings the combination refuses

    [Fact]
    public Task IncompatibleAttachSettingsInTheSameMethodAreReported() => Verify.AnalyzerAsync<WeightedAdapterAnalyzer>(Lora + """
        static class Mix
        {
            static void Ranks(LoraModelController lora)
            {
                lora.Attach("a", config: new LoraOverride { R = 8 });
                lora.Attach("b", config: new() { R = 16, LoraAlpha = 32 });
                lora.AddWeightedAdapter({|#0:["a", "b"]|}, [0.5, 0.5], "linear_ab", "linear");
                lora.AddWeightedAdapter({|#1:["a", "b"]|}, [0.5, 0.5], "ties_ab", "ties", density: 0.5);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "cat_ab", "cat");              // ranks add
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "svd_ab", "ties_svd", density: 0.5);
            }

            static void Targets(LoraModelController lora)
            {
                lora.Attach("a", 1, new LoraOverride { TargetModules = ["q_proj"] });
                lora.Attach("b", 2, new LoraOverride { TargetRegex = ".*v_proj" });
                lora.Attach("c", 3, new LoraOverride { TargetModules = ["k_proj"] });
                lora.AddWeightedAdapter({|#2:["a", "b"]|}, [1.0, 1.0], "ab", "cat");
                lora.AddWeightedAdapter(["a", "c"], [1.0, 1.0], "ac", "cat");                  // two lists: united
            }

            static void Dora(LoraModelController lora)
            {
                lora.Attach("plain").Attach("dora", config: new LoraOverride { UseDora = true });
                lora.AddWeightedAdapter({|#3:["plain", "dora"]|}, [1.0, 1.0], "both", "svd");
            }

            static void Unknown(LoraModelController lora, int rank)
            {
                lora.Attach("a", config: new LoraOverride { R = rank });
                lora.Attach("b", config: new LoraOverride { R = 16 });
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "ab", "linear");             // one rank is not a constant
            }
        }
        """,
        Verify.Diagnostic("LORA0207", 0, "'a' and 'b' cannot be combined by linear: linear needs one rank and they have R = 8 and R = 16 (cat or svd take any ranks)"),
        Verify.Diagnostic("LORA0207", 1, "'a' and 'b' cannot be combined by ties: ties needs one rank and they have R = 8 and R = 16 (cat or svd take any ranks)"),
        Verify.Diagnostic("LORA0207", 2, "'a' and 'b' cannot be combined by cat: 'a' has a target list (TargetModules) and 'b' a target regex (TargetRegex); PEFT cannot unite the two kinds"),
        Verify.Diagnostic("LORA0207", 3, "'dora' and 'plain' cannot be combined by svd: 'dora' is a DoRA adapter (UseDora = true) and DoRA magnitudes do not combine"));

    // ---- LORA0208: density

    [Fact]
    public Task MissingOrOutOfRangeDensitiesAreReported() => Verify.AnalyzerAsync<WeightedAdapterAnalyzer>(Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora, double d)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", {|#0:"ties"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "d", "dare_linear_svd", density: {|#1:0|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "e", "magnitude_prune", density: {|#2:1.5|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "f", "dare_ties", density: {|#3:null|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "g", "dare_ties", density: 1);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "h", "ties", density: d);
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "i", "linear");
            }
        }
        """,
        Verify.Diagnostic("LORA0208", 0, "Combination type \"ties\" needs a density and none is given: density is the fraction of entries kept, in (0, 1]"),
        Verify.Diagnostic("LORA0208", 1, "Combination type \"dare_linear_svd\" has density 0: density is the fraction of entries kept, in (0, 1]"),
        Verify.Diagnostic("LORA0208", 2, "Combination type \"magnitude_prune\" has density 1.5: density is the fraction of entries kept, in (0, 1]"),
        Verify.Diagnostic("LORA0208", 3, "Combination type \"dare_ties\" needs a density and it is null: density is the fraction of entries kept, in (0, 1]"));

    // ---- LORA0209: majority sign method

    [Fact]
    public Task UnknownSignMethodsAreReportedAndFixed() => Verify.CodeFixAsync<WeightedAdapterAnalyzer, UsePeftValueCodeFix>(Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", "ties", density: 0.5, majoritySignMethod: {|LORA0209:"Frequency"|});
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "e", "ties", density: 0.5, majoritySignMethod: "total");
            }
        }
        """, Lora + """
        static class Mix
        {
            static void Run(LoraModelController lora)
            {
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "c", "ties", density: 0.5, majoritySignMethod: "frequency");
                lora.AddWeightedAdapter(["a", "b"], [0.5, 0.5], "e", "ties", density: 0.5, majoritySignMethod: "total");
            }
        }
        """);

    // ---- the runtime API these rules recognize

    [Fact]
    public void TheRecognizedNamesResolveInTheRuntime()
    {
        var runtime = typeof(LoraModelController).Assembly;
        Assert.Equal(typeof(LoraPlus), runtime.GetType(RuntimeNames.LoraPlus));
        Assert.Equal(typeof(LoraOverride), runtime.GetType(RuntimeNames.LoraOverride));
        foreach (var name in new[] { nameof(LoraPlus.Groups), nameof(LoraPlus.CreateOptimizer) })
            Assert.Contains(typeof(LoraPlus).GetMethod(name)!.GetParameters(), p => p.Name == RuntimeNames.LoraPlusRatioParameter && p.ParameterType == typeof(float));
        var add = typeof(LoraModelController).GetMethod(RuntimeNames.AddWeightedAdapterMember)!;
        var parameters = add.GetParameters().Select(p => p.Name).ToList();
        Assert.Equal(0, parameters.IndexOf(RuntimeNames.AdaptersParameter));
        Assert.Equal(1, parameters.IndexOf(RuntimeNames.WeightsParameter));
        Assert.Contains(RuntimeNames.CombinationTypeParameter, parameters);
        Assert.Contains(RuntimeNames.DensityParameter, parameters);
        Assert.Contains(RuntimeNames.MajoritySignParameter, parameters);
        Assert.Equal(CombinationTypes.Svd, add.GetParameters().Single(p => p.Name == RuntimeNames.CombinationTypeParameter).DefaultValue);
        var attach = typeof(LoraModelController).GetMethod(RuntimeNames.AttachMember)!;
        Assert.Contains(attach.GetParameters(), p => p.ParameterType == typeof(LoraOverride));
        foreach (var property in new[] { RuntimeNames.OverrideRankProperty, RuntimeNames.OverrideUseDoraProperty, RuntimeNames.OverrideTargetModulesProperty, RuntimeNames.OverrideTargetRegexProperty })
            Assert.NotNull(typeof(LoraOverride).GetProperty(property, BindingFlags.Public | BindingFlags.Instance));
    }
}
