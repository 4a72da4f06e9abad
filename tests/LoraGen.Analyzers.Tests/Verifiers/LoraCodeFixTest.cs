using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>
/// A <see cref="CSharpCodeFixTest{TAnalyzer, TCodeFix, TVerifier}"/> of one LoraGen code fix: one fix at a time until
/// none is left, then Fix All in document, project and solution, each compared with the fixed code.
/// </summary>
internal sealed class LoraCodeFixTest<TAnalyzer, TCodeFix> : CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public LoraCodeFixTest()
    {
        LoraTestSetup.Configure(TestState, out var referenceAssemblies);
        ReferenceAssemblies = referenceAssemblies;
    }

    protected override ParseOptions CreateParseOptions() => LoraTestSetup.ParseOptions;

    protected override CompilationOptions CreateCompilationOptions() => LoraTestSetup.WithRepositoryDefaults(base.CreateCompilationOptions());
}
