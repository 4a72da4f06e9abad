using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>
/// A <see cref="CSharpAnalyzerTest{TAnalyzer, TVerifier}"/> that runs every LoraGen analyzer together (as a build
/// does), optionally after source generators.
/// </summary>
internal sealed class AllLoraAnalyzersTest : CSharpAnalyzerTest<LoraAttributeAnalyzer, DefaultVerifier>
{
    public AllLoraAnalyzersTest()
    {
        LoraTestSetup.Configure(TestState, out var referenceAssemblies);
        ReferenceAssemblies = referenceAssemblies;
    }

    /// <summary>Source generators to run before the analyzers (their output is compiled, not compared).</summary>
    public List<Type> SourceGenerators { get; } = [];

    protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() => LoraAnalyzers.All;

    protected override IEnumerable<Type> GetSourceGenerators() => SourceGenerators;

    protected override ParseOptions CreateParseOptions() => LoraTestSetup.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() => LoraTestSetup.WithRepositoryDefaults(base.CreateCompilationOptions());
}
