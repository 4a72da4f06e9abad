using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>
/// Issue 17 item 11: names LORA0023 flags (empty, dotted, whitespace, control characters) do not break the generator:
/// it runs without an exception and its output compiles, so the analyzer's diagnostic is the only error the user sees.
/// </summary>
public class InvalidNameTests
{
    private const string Source = """
        using LoraGen;
        using LoraGen.Nn;

        namespace Names
        {
            [LoraModel(Targets = new[] { "attn.q" })]
            public partial class Odd : Module
            {
                [ModuleName("attn.q")]
                private readonly Linear _dotted = new(2, 2);

                [ModuleName("")]
                [Lora(Rank = 2, Name = "")]
                private readonly Linear _empty = new(2, 2);

                [ModuleName("a b\t")]
                private readonly Linear _space = new(2, 2);

                [Lora(Rank = 2, Name = "c\u0001.d")]
                private readonly Linear _control = new(2, 2);
            }
        }
        """;

    [Fact]
    public void TheGeneratorDoesNotBreakOnInvalidModuleNames()
    {
        var (result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(("Odd.cs", Source)));
        Assert.All(result.Results, r => Assert.Null(r.Exception));
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.NotEmpty(result.Results.Single().GeneratedSources);
    }
}
