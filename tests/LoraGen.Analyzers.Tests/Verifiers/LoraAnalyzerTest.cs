using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>A <see cref="CSharpAnalyzerTest{TAnalyzer, TVerifier}"/> of one LoraGen analyzer against the real runtime.</summary>
internal sealed class LoraAnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    public LoraAnalyzerTest()
    {
        LoraTestSetup.Configure(TestState, out var referenceAssemblies);
        ReferenceAssemblies = referenceAssemblies;
    }

    protected override ParseOptions CreateParseOptions() => LoraTestSetup.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() => LoraTestSetup.WithRepositoryDefaults(base.CreateCompilationOptions());
}
