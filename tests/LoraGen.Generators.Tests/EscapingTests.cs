using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>
/// Issue 17 items 11 and 12: user strings ([ModuleName], [Lora(Name)]) reach generated C# literals and XML docs
/// escaped, and keyword type/namespace names are written with @, so the generated code compiles without a warning.
/// </summary>
public class EscapingTests
{
    private const string Source = """
        using LoraGen;
        using LoraGen.Nn;

        namespace @event.Models
        {
            [LoraModel(Targets = new[] { "q\"x" })]
            public partial class @class : Module
            {
                [ModuleName("a\nb\r\npublic static int Injected => 42;\u2028c")]
                [Lora(Rank = 2)]
                private readonly Linear _inject = new(2, 2);

                [ModuleName("a<b&c\"d\u0001")]
                [Lora(Rank = 2, Name = "x<y>&\"z\\")]
                private readonly Linear _xml = new(2, 2);

                [ModuleName("q\"x")]
                private readonly Linear _quoted = new(2, 2);
            }

            public partial class Gen<@int> : Module where @int : Module
            {
                private readonly @int[] items = System.Array.Empty<@int>();
            }
        }
        """;

    [Fact]
    public void UserStringsAreEscapedAndKeywordNamesCompile()
    {
        var (result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(("Esc.cs", Source)));
        var problems = GeneratorHarness.Problems(output);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var text = string.Join("\n", result.Results.Single().GeneratedSources.Select(s => s.SourceText.ToString()));
        Assert.DoesNotContain("\npublic static int Injected", text.Replace("\r", ""), StringComparison.Ordinal);
        Assert.DoesNotContain(output.GetSymbolsWithName("Injected"), _ => true);
        Assert.Contains("partial class @class", text, StringComparison.Ordinal);
        Assert.Contains("namespace @event.Models", text, StringComparison.Ordinal);
    }
}
