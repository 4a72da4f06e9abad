using System.Collections.Immutable;
using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.CodeAnalysis.Text;
using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// What a new user hit (issue 16 item 1, 7; issue 18 item 4): a non-partial module silently losing its layers
/// (LORA0021), a missing [LoraModel] (LORA0022), rank checks with constant sizes, fixes for LORA0001/0003/0011, and
/// every fix leaving code that no rule flags.
/// </summary>
public class UserTrialRuleTests
{
    [Fact]
    public Task ANonPartialModuleHoldingLayersIsAnError() => AnalyzerAsync<LoraModelAnalyzer>("""
        public sealed class {|LORA0021:Mlp|} : Module
        {
            readonly Linear fc1 = new(16, 32);
            readonly Linear fc2 = new(32, 4);
        }
        public sealed partial class Fine : Module { readonly Linear fc = new(16, 32); }
        public sealed class Listed : Module
        {
            readonly Linear fc = new(16, 32);
            public override IEnumerable<(string Name, Module Module)> Children() { yield return ("fc", fc); }
        }
        public sealed class NoLayers : Module { readonly int n = 3; }
        """);

    [Fact]
    public Task ANonPartialModuleIsMadePartialByTheExistingFix() => CodeFixAsync<LoraModelAnalyzer, MakePartialCodeFix>("""
        public sealed class {|LORA0021:Child|} : Module { readonly Linear k = new(16, 32); }
        public sealed class {|LORA0021:Net|} : Module { readonly Child[] blocks = [new Child()]; }
        """, """
        public sealed partial class Child : Module { readonly Linear k = new(16, 32); }
        public sealed partial class Net : Module { readonly Child[] blocks = [new Child()]; }
        """);

    [Fact]
    public Task UsingLoraWithoutLoraModelSaysWhichAttributeIsMissing() => AnalyzerAsync<LoraModelAnalyzer>("""
        public sealed partial class Net : Module { [Lora(Rank = 4)] readonly Linear fc = new(64, 64); }
        public static class Use { public static void Run() => new Net().{|#0:Lora|}.Attach(); }
        """,
        Diagnostic("LORA0022", 0, "'Net' has no Lora facade: mark the root class 'Net' with [LoraModel] (and make it partial) to get model.Lora"),
        DiagnosticResult.CompilerError("CS1061").WithLocation(0).WithArguments("Net", "Lora"));

    [Fact]
    public Task RankChecksEvaluateConstantsAndStayQuietForUnknownSizes() => AnalyzerAsync<LoraAttributeAnalyzer>("""
        public static class Dims { public const int Hidden = 16; }
        public sealed partial class A : Module
        {
            const int D = 16;
            [Lora(Rank = {|LORA0004:32|})] readonly Linear p = new(D, Dims.Hidden);
            [Lora(Rank = {|LORA0005:8|})] readonly Linear q = new(D * 1, Dims.Hidden);
            [Lora(Rank = 32)] readonly Linear unknown;
            public A(int inputs, int outputs) { unknown = new Linear(inputs, outputs); }
        }
        """);

    [Fact]
    public Task TheRankFixOffersTheLargestPowerOfTwoThatFits() => CodeFixAsync<LoraAttributeAnalyzer, ClampRankCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = {|LORA0004:32|})] readonly Linear p = new(16, 16); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(16, 16); }
        """);

    [Fact]
    public Task AnInvalidRankIsReplaced() => CodeFixAsync<LoraAttributeAnalyzer, ReplaceValueCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = {|LORA0001:0|})] readonly Linear p = new(64, 64); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = 8)] readonly Linear p = new(64, 64); }
        """);

    [Fact]
    public Task AnInvalidDropoutIsReplaced() => CodeFixAsync<LoraAttributeAnalyzer, ReplaceValueCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = 4, Dropout = {|LORA0003:1.0|})] readonly Linear p = new(64, 64); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = 4, Dropout = 0.1)] readonly Linear p = new(64, 64); }
        """);

    [Fact]
    public Task AnUnmatchedTargetOffersTheCandidates()
    {
        var test = new LoraCodeFixTest<LoraModelAnalyzer, PickTargetCodeFix>
        {
            TestCode = LoraTestSetup.Usings + """
                [LoraModel(Targets = new[] { "q_proj", {|LORA0011:"v_prj"|} })]
                public sealed partial class Net : Module { readonly Linear q_proj = new(64, 64); readonly Linear v_proj = new(64, 64); }
                """,
            FixedCode = LoraTestSetup.Usings + """
                [LoraModel(Targets = new[] { "q_proj", "v_proj" })]
                public sealed partial class Net : Module { readonly Linear q_proj = new(64, 64); readonly Linear v_proj = new(64, 64); }
                """,
            CodeActionEquivalenceKey = nameof(PickTargetCodeFix) + ".v_proj",
        };
        return test.RunAsync();
    }

    /// <summary>Sources where each rule with a fix fires; every fix offered is applied and the result must be clean.</summary>
    public static TheoryData<string> Broken() =>
    [
        "public sealed partial class A : Module { [Lora(Rank = 0)] readonly Linear p = new(64, 64); }",
        "public sealed partial class A : Module { [Lora(Rank = 0, Alpha = 512)] readonly Linear p = new(512, 512); }",
        "public sealed partial class A : Module { [Lora(Rank = 4, Alpha = -1)] readonly Linear p = new(64, 64); }",
        "public sealed partial class A : Module { [Lora(Rank = 4, Dropout = 1.5)] readonly Linear p = new(64, 64); }",
        "public sealed partial class A : Module { [Lora(Rank = 4, Dropout = -0.5)] readonly Linear p = new(64, 64); }",
        "public sealed partial class A : Module { [Lora(Rank = 32)] readonly Linear p = new(16, 16); }",
        "public sealed partial class A : Module { [Lora(Rank = 8)] readonly Linear p = new(16, 16); }",
        "public sealed partial class A : Module { [Lora(Rank = 64)] readonly Embedding e = new(100, 48); }",
        "public sealed class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }",
        "public sealed class A : Module { readonly Linear p = new(64, 64); }",
        "[LoraModel] public sealed class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }",
        """[LoraModel(Targets = new[] { "fc9" })] public sealed partial class A : Module { readonly Linear fc1 = new(64, 64); readonly Linear fc2 = new(64, 64); }""",
    ];

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task EveryFixLeavesNoDiagnostic(string source)
    {
        var providers = typeof(MakePartialCodeFix).Assembly.GetTypes()
            .Where(t => typeof(CodeFixProvider).IsAssignableFrom(t) && !t.IsAbstract)
            .Select(t => (CodeFixProvider)Activator.CreateInstance(t)!).ToList();
        var document = NewDocument(LoraTestSetup.Usings + source);
        var before = await LoraDiagnostics(document);
        var fixable = before.Where(d => providers.Any(p => p.FixableDiagnosticIds.Contains(d.Id))).ToList();
        Assert.True(before.Count == 0 || fixable.Count > 0, "no fix for: " + string.Join("; ", before));
        int applied = 0;
        foreach (var diagnostic in fixable)
        {
            foreach (var provider in providers.Where(p => p.FixableDiagnosticIds.Contains(diagnostic.Id)))
            {
                var actions = new List<CodeAction>();
                await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
                foreach (var action in actions)
                {
                    var operations = await action.GetOperationsAsync(CancellationToken.None);
                    var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution.GetDocument(document.Id)!;
                    var after = await LoraDiagnostics(changed);
                    var text = (await changed.GetTextAsync()).ToString();
                    Assert.True(after.Count == 0, $"'{action.Title}' on {diagnostic.Id} left: {string.Join("; ", after)}\n{text}");
                    applied++;
                }
            }
        }
        Assert.True(applied > 0, "no fix was offered");
    }

    private static Document NewDocument(string source)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "Fixes", "Fixes", LanguageNames.CSharp,
            compilationOptions: LoraTestSetup.WithRepositoryDefaults(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)),
            parseOptions: LoraTestSetup.ParseOptions, metadataReferences: TestReferences.All));
        return workspace.AddDocument(project.Id, "A.cs", SourceText.From(source));
    }

    /// <summary>Every LORA diagnostic of every analyzer, plus compiler errors.</summary>
    private static async Task<List<Diagnostic>> LoraDiagnostics(Document document)
    {
        var compilation = (await document.Project.GetCompilationAsync())!;
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);
        var analyzers = await compilation.WithAnalyzers(LoraAnalyzers.All).GetAnalyzerDiagnosticsAsync();
        return [.. errors.Concat(analyzers).Where(d => d.Id.StartsWith("LORA", StringComparison.Ordinal) || d.Severity == DiagnosticSeverity.Error)];
    }
}
