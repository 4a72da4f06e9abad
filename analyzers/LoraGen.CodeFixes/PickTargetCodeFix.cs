using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0011: replace a target that matches nothing with one of the model's layer names (one action per candidate).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PickTargetCodeFix)), Shared]
    public sealed class PickTargetCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0011");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            if (!diagnostic.Properties.TryGetValue(DiagnosticProperties.Candidates, out var list) || string.IsNullOrEmpty(list)) return Task.CompletedTask;
            foreach (var name in list!.Split(DiagnosticProperties.CandidateSeparator))
                context.RegisterCodeFix(CodeAction.Create($"Use target \"{name}\"", ct => ReplaceAsync(context.Document, diagnostic.Location, name, ct),
                    nameof(PickTargetCodeFix) + "." + name), diagnostic);
            return Task.CompletedTask;
        }

        private static async Task<Document> ReplaceAsync(Document document, Location location, string name, CancellationToken ct)
        {
            var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            if (root?.FindNode(location.SourceSpan, getInnermostNodeForTie: true) is not LiteralExpressionSyntax literal) return document;
            var replacement = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(name)).WithTriviaFrom(literal);
            return document.WithSyntaxRoot(root.ReplaceNode(literal, replacement));
        }
    }
}
