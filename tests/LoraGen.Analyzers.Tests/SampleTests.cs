using LoraGen.Autograd;
using LoraGen.Generators;
using LoraGen.Ops;
using LoraGen.Tensors;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>The sample a user copies from is clean: it compiles with the generated code and raises no LoRA diagnostic.</summary>
public class SampleTests
{
    [Fact]
    public async Task TheTinyGptSampleHasZeroLoraDiagnostics()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) dir = dir.Parent;
        var sampleDir = Path.Combine(dir!.FullName, "samples", "TinyGpt.Lora");
        var files = Directory.GetFiles(sampleDir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.NotEmpty(files);
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var refs = AnalyzerHarness.References.Add(MetadataReference.CreateFromFile(typeof(Spectre.Console.AnsiConsole).Assembly.Location));
        var global = CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading.Tasks;", parse, "Usings.cs");
        var compilation = CSharpCompilation.Create("TinyGpt.Lora",
            files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).Append(global), refs,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        CSharpGeneratorDriver.Create([new LoraGenerator().AsSourceGenerator()], parseOptions: parse)
            .RunGeneratorsAndUpdateCompilation(compilation, out var withGenerated, out _);
        var errors = withGenerated.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var lora = (await withGenerated.WithAnalyzers(AnalyzerHarness.Analyzers).GetAnalyzerDiagnosticsAsync())
            .Where(d => d.Id.StartsWith("LORA", StringComparison.Ordinal)).ToList();
        Assert.True(lora.Count == 0, string.Join("\n", lora));
        Assert.Contains(withGenerated.SyntaxTrees, t => t.FilePath.EndsWith("Gpt.Lora.g.cs", StringComparison.Ordinal));
    }
}
