using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0101: invoke the adapted TorchSharp layer with <c>call(x)</c>, which runs the LoRA hook, instead of <c>forward(x)</c>.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReplaceForwardWithCallCodeFix)), Shared]
    public sealed class ReplaceForwardWithCallCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0101");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            var invocation = root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true)
                .AncestorsAndSelf().OfType<InvocationExpressionSyntax>().FirstOrDefault();
            if (root is null || invocation?.Expression is not MemberAccessExpressionSyntax { Name: IdentifierNameSyntax name } access
                || name.Identifier.ValueText != "forward") return;
            context.RegisterCodeFix(CodeAction.Create("Use call(x), which runs the LoRA hook", _ =>
            {
                var renamed = access.WithName(SyntaxFactory.IdentifierName(SyntaxFactory.Identifier("call")).WithTriviaFrom(name));
                return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(access, renamed)));
            }, nameof(ReplaceForwardWithCallCodeFix)), diagnostic);
        }
    }
}
