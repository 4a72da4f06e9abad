using System.Collections.Immutable;
using System.Reflection;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis;

namespace LoraGen.Generators.Tests;

/// <summary>Runs <see cref="LoraGenerator"/> in memory over sources, against the real runtime and abstractions.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compile(params (string Path, string Text)[] sources) =>
        CSharpCompilation.Create("Generated",
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
            LoraGen.Tests.Shared.RoslynTestReferences.All,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create([new LoraGenerator().AsSourceGenerator()], parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator and returns its result and the compilation with the generated code added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output) Run(CSharpCompilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        if (!diagnostics.IsEmpty) throw new InvalidOperationException("The generator reported: " + string.Join("; ", diagnostics));
        return (driver.GetRunResult(), output);
    }

    /// <summary>The model sources that this test project also compiles (embedded as resources).</summary>
    public static (string Path, string Text)[] ModelSources(params string[] names)
    {
        var asm = Assembly.GetExecutingAssembly();
        return names.Select(n =>
        {
            using var s = asm.GetManifestResourceStream("Models/" + n) ?? throw new FileNotFoundException($"Embedded model source {n} not found.");
            using var r = new StreamReader(s);
            return ("Models/" + n, r.ReadToEnd());
        }).ToArray();
    }

    /// <summary>Errors and warnings of a compilation (generated code must have none).</summary>
    public static IReadOnlyList<Diagnostic> Problems(Compilation c) =>
        c.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
}
