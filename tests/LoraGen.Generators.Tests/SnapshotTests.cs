using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>The generated code, file by file, against approved snapshots; and it compiles with no warning.</summary>
public class SnapshotTests
{
    internal const string EdgeCases = """
        using System.Collections.Generic;
        using LoraGen;
        using LoraGen.Nn;

        // Global namespace, internal, [Lora] with every option, renamed by Lora.Name.
        internal sealed partial class GlobalModule : Module
        {
            [Lora(Rank = 1, Alpha = 0.5, Init = LoraInit.Gaussian, Bias = LoraBias.LoraOnly, Name = "proj")]
            private readonly Linear _p = new(3, 3);
        }

        namespace Block.Ns
        {
            public static partial class Outer
            {
                // Nested generic module: arrays and read-only lists of modules, [Lora] on an array of layers.
                public partial class Inner<TItem> : Module where TItem : Module
                {
                    private readonly TItem[] items = System.Array.Empty<TItem>();
                    private readonly IReadOnlyList<Linear> heads = new Linear[0];
                    [Lora(Rank = 2)] private readonly Linear[] experts = new Linear[0];
                    private static readonly Linear Shared = new(1, 1);
                    public readonly int NotAModule = 3;
                }
            }

            // Containing type not partial: no code (the analyzers explain).
            public class NotPartialParent
            {
                public partial class Skipped : Module { }
            }

            // Not partial: no code.
            public class Hand : Module { }

            // The user wrote Children(): the generator leaves it alone.
            public partial class UserChildren : Module
            {
                public override IEnumerable<(string Name, Module Module)> Children() => [];
            }

            // Inheritance: the derived type yields its base's children first.
            public partial class BaseBlock : Module
            {
                protected readonly Linear a = new(2, 2);
            }

            public sealed partial class DerivedBlock : BaseBlock
            {
                [Lora] private readonly Linear b = new(2, 2);
            }
        }
        """;

    private static void VerifyAll(string caseName, params (string Path, string Text)[] sources)
    {
        var (result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(sources));
        Assert.Empty(GeneratorHarness.Problems(output));
        var generated = result.Results.Single().GeneratedSources;
        Assert.NotEmpty(generated);
        foreach (var source in generated.OrderBy(s => s.HintName, StringComparer.Ordinal))
            Snapshot.Verify($"{caseName}/{source.HintName.Replace(".g.cs", "")}", source.SourceText.ToString());
    }

    [Fact]
    public void TinyTransformer() => VerifyAll("TinyTransformer", GeneratorHarness.ModelSources("TinyTransformer.cs", "TinyTransformer.Layer.cs"));

    [Fact]
    public void MlpWithNamedTargets() => VerifyAll("Mlp", GeneratorHarness.ModelSources("Mlp.cs"));

    [Fact]
    public void DoraDefaultsAndFields() => VerifyAll("DoraMlp", GeneratorHarness.ModelSources("DoraMlp.cs"));

    [Fact]
    public void VeraDefaultsAndFields() => VerifyAll("VeraMlp", GeneratorHarness.ModelSources("VeraMlp.cs"));

    [Fact]
    public void NolaDefaultsAndFields() => VerifyAll("NolaMlp", GeneratorHarness.ModelSources("NolaMlp.cs"));

    [Fact]
    public void EdgeCasesOfTypeShapes() => VerifyAll("EdgeCases", ("EdgeCases.cs", EdgeCases));

    [Fact]
    public void SkipsWhatItCannotHandle()
    {
        var (result, _) = GeneratorHarness.Run(GeneratorHarness.Compile(("EdgeCases.cs", EdgeCases)));
        var hints = result.Results.Single().GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Contains("Block.Ns.Outer.Inner_1.Lora.g.cs", hints);
        Assert.Contains("GlobalModule.Lora.g.cs", hints);
        // Not partial, inside a non-partial type, or nothing left to generate (the user wrote Children()).
        Assert.DoesNotContain(hints, h => h.Contains("Skipped") || h.Contains("Hand") || h.Contains("UserChildren"));
    }

    [Fact]
    public void FieldsNamedWithKeywordsCompile()
    {
        const string source = """
            using LoraGen;
            using LoraGen.Nn;

            [LoraModel(Targets = new[] { "base" })]
            public sealed partial class Escaped : Module
            {
                private readonly Linear @base = new(2, 2);
                [Lora] private readonly Linear[] @class = new Linear[0];
            }
            """;
        var (result, output) = GeneratorHarness.Run(GeneratorHarness.Compile(("Escaped.cs", source)));
        Assert.Empty(GeneratorHarness.Problems(output));
        var text = result.Results.Single().GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("yield return (\"base\", this.@base);", text);
        Assert.Contains("if (childName.StartsWith(\"class.\", global::System.StringComparison.Ordinal)) return __loraSpec_class;", text);
    }

    [Fact]
    public void NoRuntimeReferenceMeansNoOutputAndNoCrash()
    {
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Bare",
            [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("namespace N; public partial class X : Y { } public class Y { }")]);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }
}
