using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace LoraGen.Analyzers.Tests.Verifiers;

/// <summary>
/// Short forms of the tests. Sources are markup: <c>{|LORA0001:…|}</c> or <c>[|…|]</c> (the analyzer's only rule)
/// for an expected diagnostic's ID and span, <c>{|#0:…|}</c> for a location that a <see cref="Diagnostic(string, int, string)"/>
/// result refers to with its exact message. The usings of <see cref="LoraTestSetup.Usings"/> are prepended.
/// </summary>
internal static class Verify
{
    /// <summary>An expected diagnostic of rule <paramref name="id"/> at its declared severity.</summary>
    public static DiagnosticResult Diagnostic(string id) => new(LoraAnalyzers.Descriptor(id));

    /// <summary>An expected diagnostic of rule <paramref name="id"/> at markup location <c>{|#marker:…|}</c>, with exactly <paramref name="message"/>.</summary>
    public static DiagnosticResult Diagnostic(string id, int marker, string message) =>
        Diagnostic(id).WithLocation(marker).WithMessage(message);

    /// <summary>Runs <typeparamref name="TAnalyzer"/> over <paramref name="code"/>: exactly the marked and <paramref name="expected"/> diagnostics.</summary>
    public static Task AnalyzerAsync<TAnalyzer>(string code, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new LoraAnalyzerTest<TAnalyzer> { TestCode = LoraTestSetup.Usings + code };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    /// <summary>Runs every analyzer over <paramref name="code"/>: exactly the marked and <paramref name="expected"/> diagnostics.</summary>
    public static Task AllAnalyzersAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new AllLoraAnalyzersTest { TestCode = LoraTestSetup.Usings + code };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    /// <summary>
    /// Applies <typeparamref name="TCodeFix"/> to the diagnostics of <typeparamref name="TAnalyzer"/> in <paramref name="code"/>
    /// and expects <paramref name="fixedCode"/> (markup there: what is still reported after the fix), one fix at a
    /// time and by Fix All. Pass <paramref name="fixedCode"/> = <paramref name="code"/> to assert that no fix is offered.
    /// </summary>
    public static Task CodeFixAsync<TAnalyzer, TCodeFix>(string code, string fixedCode, int? iterations = null)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TCodeFix : CodeFixProvider, new()
    {
        var test = new LoraCodeFixTest<TAnalyzer, TCodeFix>
        {
            TestCode = LoraTestSetup.Usings + code,
            FixedCode = LoraTestSetup.Usings + fixedCode,
        };
        if (iterations is { } n)
        {
            test.NumberOfIncrementalIterations = n;
            test.NumberOfFixAllIterations = 1;
        }
        return test.RunAsync();
    }
}
