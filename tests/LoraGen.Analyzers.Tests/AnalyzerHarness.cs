using System.Collections.Immutable;
using LoraGen.Analyzers;
using LoraGen.Autograd;
using LoraGen.CodeFixes;
using LoraGen.Ops;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Microsoft.CodeAnalysis;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>Runs the LoraGen analyzers over sources through <see cref="CompilationWithAnalyzers"/>; applies code fixes.</summary>
internal static class AnalyzerHarness
{
    public static readonly ImmutableArray<DiagnosticAnalyzer> Analyzers =
        [new LoraAttributeAnalyzer(), new LoraModelAnalyzer(), new WeightMutationAnalyzer(), new MergeThenTrainAnalyzer()];

    public static readonly ImmutableArray<MetadataReference> References = LoraGen.Tests.Shared.RoslynTestReferences.All;

    public const string Usings = "using System; using LoraGen; using LoraGen.Autograd; using LoraGen.Nn; using LoraGen.Ops; using LoraGen.Tensors; using LoraGen.Optim;\n";

    public static CSharpCompilation Compile(params (string Path, string Text)[] sources) =>
        CSharpCompilation.Create("Tests", sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, new CSharpParseOptions(LanguageVersion.Latest), s.Path)),
            References, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>The LORA diagnostics of the sources (compiler errors other than the missing generated members fail the test).</summary>
    public static async Task<IReadOnlyList<Diagnostic>> DiagnosticsAsync(params (string Path, string Text)[] sources)
    {
        var compilation = Compile(sources);
        var compilerErrors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(compilerErrors.Count == 0, "The test source does not compile: " + string.Join("; ", compilerErrors));
        var withAnalyzers = compilation.WithAnalyzers(Analyzers);
        var all = await withAnalyzers.GetAnalyzerDiagnosticsAsync();
        return all.Where(d => d.Id.StartsWith("LORA", StringComparison.Ordinal)).OrderBy(d => d.Location.SourceSpan.Start).ToList();
    }

    /// <summary>Source with one <c>[|…|]</c> span: returns the clean text and the span.</summary>
    public static (string Text, TextSpan Span) Parse(string markup)
    {
        int start = markup.IndexOf("[|", StringComparison.Ordinal);
        int end = markup.IndexOf("|]", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "the test source needs one [| |] span");
        var text = markup.Remove(end, 2).Remove(start, 2);
        return (text, TextSpan.FromBounds(start, end - 2));
    }

    /// <summary>Asserts exactly one diagnostic <paramref name="id"/>, on the marked span, with exactly <paramref name="message"/>.</summary>
    public static async Task VerifyAsync(string markup, string id, string message)
    {
        var (text, span) = Parse(Usings + markup);
        var diagnostics = (await DiagnosticsAsync(("Test.cs", text))).Where(d => d.Id == id).ToList();
        Assert.True(diagnostics.Count == 1, $"expected one {id}, got: {string.Join("; ", diagnostics)}");
        var d = diagnostics[0];
        Assert.Equal(text.Substring(span.Start, span.Length), text.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        Assert.Equal(span, d.Location.SourceSpan);
        Assert.Equal(message, d.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Asserts no diagnostic <paramref name="id"/> (or none at all when null).</summary>
    public static async Task VerifyNoneAsync(string source, string? id = null)
    {
        var diagnostics = await DiagnosticsAsync(("Test.cs", Usings + source));
        var matching = diagnostics.Where(d => id is null || d.Id == id).ToList();
        Assert.True(matching.Count == 0, "unexpected: " + string.Join("; ", matching));
    }

    /// <summary>Applies the first fix offered for diagnostic <paramref name="id"/> and returns the new source.</summary>
    public static async Task<string> ApplyFixAsync(string source, string id, CodeFixProvider fix)
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "Tests", "Tests", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: new CSharpParseOptions(LanguageVersion.Latest), metadataReferences: References));
        var document = workspace.AddDocument(project.Id, "Test.cs", SourceText.From(Usings + source));
        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostic = (await compilation.WithAnalyzers(Analyzers).GetAnalyzerDiagnosticsAsync()).First(d => d.Id == id);
        var actions = new List<CodeAction>();
        await fix.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
        Assert.NotEmpty(actions);
        var operations = await actions[0].GetOperationsAsync(CancellationToken.None);
        var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution;
        var text = await changed.GetDocument(document.Id)!.GetTextAsync();
        return text.ToString()[Usings.Length..];
    }
}
