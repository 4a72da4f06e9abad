using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>The sample a user copies from is clean: with the generated code it compiles and raises no LoRA diagnostic.</summary>
public class SampleTests
{
    [Fact]
    public Task TheTinyGptSampleHasZeroLoraDiagnostics()
    {
        var sampleDir = Path.Combine(CatalogTests.RepoRoot(), "samples", "TinyGpt.Lora");
        var sep = Path.DirectorySeparatorChar;
        var files = Directory.GetFiles(sampleDir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}bin{sep}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files);

        // Every analyzer after the generator, as `dotnet build` runs them; no diagnostic expected, and compiler errors
        // (a sample that needs generated members it did not get) fail the test.
        var test = new AllLoraAnalyzersTest
        {
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck | TestBehaviors.SkipGeneratedCodeCheck | TestBehaviors.SkipSuppressionCheck,
            MarkupOptions = MarkupOptions.None,
        };
        test.SourceGenerators.Add(typeof(LoraGenerator));
        test.TestState.OutputKind = OutputKind.ConsoleApplication;
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(Spectre.Console.AnsiConsole).Assembly.Location));
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(LoraGen.Plotting.TrainingPlot).Assembly.Location));
        foreach (var f in files) test.TestState.Sources.Add((f, File.ReadAllText(f)));
        // The implicit usings of a console project.
        test.TestState.Sources.Add(("Usings.cs",
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;"));
        return test.RunAsync();
    }
}
