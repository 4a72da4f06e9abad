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
    /// <summary>LORA0006 / LORA0007 / LORA0008: remove <c>[Lora]</c> from a target it cannot apply to.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveLoraAttributeCodeFix)), Shared]
    public sealed class RemoveLoraAttributeCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0006", "LORA0007", "LORA0008");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            var attribute = root?.FindNode(diagnostic.Location.SourceSpan).AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault();
            if (root is null || attribute?.Parent is not AttributeListSyntax list) return;
            context.RegisterCodeFix(CodeAction.Create("Remove [Lora]", _ =>
            {
                SyntaxNode newRoot;
                if (list.Attributes.Count > 1) newRoot = root.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute)));
                else if (list.Parent is MemberDeclarationSyntax member)
                {
                    // On its own line: drop the line. Inline: the next token inherits the list's indentation.
                    bool ownLine = list.GetTrailingTrivia().Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
                    var stripped = member.RemoveNode(list, SyntaxRemoveOptions.KeepNoTrivia)!;
                    if (!ownLine) stripped = stripped.WithLeadingTrivia(list.GetLeadingTrivia());
                    newRoot = root.ReplaceNode(member, stripped);
                }
                else newRoot = root.RemoveNode(list, SyntaxRemoveOptions.KeepNoTrivia)!;
                return Task.FromResult(context.Document.WithSyntaxRoot(newRoot));
            }, nameof(RemoveLoraAttributeCodeFix)), diagnostic);
        }
    }
}
