using System.Collections;
using System.Reflection;
using LoraGen.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace LoraGen.Generators.Tests;

/// <summary>The pipeline caches: nothing reruns on a clone, unrelated edits regenerate nothing, a rank edit regenerates one type.</summary>
public class IncrementalTests
{
    private static readonly string[] Steps =
    [
        TrackingNames.ModuleTypes, TrackingNames.ModuleTypesFound, TrackingNames.LoraFields, TrackingNames.LoraFieldsFound,
        TrackingNames.LoraFieldsCollected, TrackingNames.LoraModels, TrackingNames.LoraModelsFound, TrackingNames.LoraModelsCollected,
        TrackingNames.ModuleTypesWithLoraFields, TrackingNames.ModuleTypesWithRoots, TrackingNames.Generation,
    ];

    private static CSharpCompilation Models() => GeneratorHarness.Compile(
        [.. GeneratorHarness.ModelSources("TinyTransformer.cs", "TinyTransformer.Layer.cs", "Mlp.cs"), ("EdgeCases.cs", SnapshotTests.EdgeCases)]);

    private static (GeneratorDriver Driver, GeneratorRunResult First) RunOnce(CSharpCompilation c)
    {
        var driver = GeneratorHarness.CreateDriver().RunGenerators(c);
        return (driver, driver.GetRunResult().Results.Single());
    }

    private static IEnumerable<(string Step, IncrementalStepRunReason Reason, object? Value)> Outputs(GeneratorRunResult r, string step) =>
        r.TrackedSteps.TryGetValue(step, out var runs)
            ? runs.SelectMany(run => run.Outputs.Select(o => (step, o.Reason, (object?)o.Value)))
            : [];

    [Fact]
    public void EveryStepHasATrackingNameAndRunsOnce()
    {
        var (_, first) = RunOnce(Models());
        foreach (var step in Steps) Assert.True(first.TrackedSteps.ContainsKey(step), $"step {step} was not tracked");
        // One generation model per partial Module type (a type with nothing to emit gets no file).
        Assert.Equal(10, Outputs(first, TrackingNames.Generation).Count());
        Assert.Equal(9, first.GeneratedSources.Length);
    }

    [Fact]
    public void RerunOnAClonedCompilationIsAllCachedOrUnchanged()
    {
        var c = Models();
        var (driver, _) = RunOnce(c);
        var second = driver.RunGenerators(c.Clone()).GetRunResult().Results.Single();
        foreach (var step in Steps)
            foreach (var (s, reason, _) in Outputs(second, step))
                Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{s}: {reason}");
    }

    public static TheoryData<string, string> UnrelatedEdits() => new()
    {
        { "new type", "namespace Other { public sealed class Unrelated { public int X => 1; } }" },
        { "comment", "// a comment\n" },
        { "method body", "BODY" },
        { "non-module field in a module type", "FIELD" },
    };

    [Theory]
    [MemberData(nameof(UnrelatedEdits))]
    public void UnrelatedEditRegeneratesNothing(string what, string edit)
    {
        var c = Models();
        var (driver, first) = RunOnce(c);
        CSharpCompilation edited;
        if (edit == "BODY")
        {
            var tree = c.SyntaxTrees.Single(t => t.FilePath.EndsWith("Mlp.cs"));
            var text = tree.ToString().Replace("fc2.Forward(fc1.Forward(x).Relu())", "fc2.Forward(fc1.Forward(x).Gelu())");
            edited = c.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, tree.FilePath));
        }
        else if (edit == "FIELD")
        {
            var tree = c.SyntaxTrees.Single(t => t.FilePath.EndsWith("TinyTransformer.cs"));
            var text = tree.ToString().Replace("private readonly Linear k_proj;", "private readonly Linear k_proj;\n            private int calls;\n            public int Calls => calls;");
            Assert.NotEqual(tree.ToString(), text);
            edited = c.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, tree.FilePath));
        }
        else if (what == "comment")
        {
            var tree = c.SyntaxTrees.Single(t => t.FilePath.EndsWith("Mlp.cs"));
            edited = c.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(edit + tree, GeneratorHarness.ParseOptions, tree.FilePath));
        }
        else edited = c.AddSyntaxTrees(CSharpSyntaxTree.ParseText(edit, GeneratorHarness.ParseOptions, "Unrelated.cs"));
        var second = driver.RunGenerators(edited).GetRunResult().Results.Single();
        var generation = Outputs(second, TrackingNames.Generation).ToList();
        Assert.Equal(Outputs(first, TrackingNames.Generation).Count(), generation.Count);
        Assert.All(generation, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{what}: {o.Reason}"));
        // And no source was written again: every output step was served from the cache.
        var outputs = second.TrackedOutputSteps[WellKnownGeneratorOutputs.SourceOutput].SelectMany(r => r.Outputs).ToList();
        Assert.Equal(generation.Count, outputs.Count);
        Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{what}: source output {o.Reason}"));
        Assert.Equal(first.GeneratedSources.Select(s => s.SourceText.ToString()), second.GeneratedSources.Select(s => s.SourceText.ToString()));
    }

    [Fact]
    public void ChangingARankRegeneratesOnlyThatType()
    {
        var c = Models();
        var (driver, _) = RunOnce(c);
        var tree = c.SyntaxTrees.Single(t => t.FilePath.EndsWith("TinyTransformer.cs"));
        var text = tree.ToString().Replace("[Lora(Rank = 4, Alpha = 8, Dropout = 0.1)]", "[Lora(Rank = 6, Alpha = 8, Dropout = 0.1)]");
        Assert.NotEqual(tree.ToString(), text);
        var second = driver.RunGenerators(c.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, tree.FilePath)))
            .GetRunResult().Results.Single();
        var changed = Outputs(second, TrackingNames.Generation)
            .Where(o => o.Reason is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New)
            .Select(o => ((GenerationModel)o.Value!).Type.HintName).ToList();
        Assert.Equal(["LoraGen.Generators.Tests.Models.TinyTransformer.Attention.Lora.g.cs"], changed);
        Assert.Contains("Rank: 6", second.GeneratedSources.Single(s => s.HintName == changed[0]).SourceText.ToString());
    }

    [Fact]
    public void ModelsHoldNoSymbolsSyntaxOrCompilations()
    {
        var (_, first) = RunOnce(Models());
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var step in Steps)
            foreach (var (s, _, value) in Outputs(first, step))
                AssertClean(value, $"{s}", seen, 0);
    }

    private static void AssertClean(object? value, string path, HashSet<object> seen, int depth)
    {
        if (value is null || depth > 12) return;
        var type = value.GetType();
        Assert.False(value is ISymbol or SyntaxNode or SyntaxTree or Location or Compilation or SemanticModel or AttributeData,
            $"{path} holds a {type.Name}");
        if (type.IsPrimitive || value is string || value is Enum) return;
        if (!type.IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items) AssertClean(item, $"{path}[{i++}]", seen, depth + 1);
        }
        foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            AssertClean(f.GetValue(value), $"{path}.{f.Name}", seen, depth + 1);
    }
}
