using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0009 / LORA0020: add <c>partial</c> to every declaration of the type.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFix)), Shared]
    public sealed class MakePartialCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0009", "LORA0020");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            if (!diagnostic.Properties.TryGetValue("Type", out var typeName) || typeName is null) return;
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            var node = root?.FindNode(diagnostic.Location.SourceSpan);
            var decl = node?.AncestorsAndSelf().OfType<ClassDeclarationSyntax>().FirstOrDefault(d => d.Identifier.ValueText == typeName);
            if (decl is null) return;
            context.RegisterCodeFix(CodeAction.Create($"Make '{typeName}' partial", ct => MakePartialAsync(context.Document, decl, ct), nameof(MakePartialCodeFix)), diagnostic);
        }

        private static async Task<Solution> MakePartialAsync(Document document, ClassDeclarationSyntax decl, CancellationToken ct)
        {
            var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
            var symbol = model?.GetDeclaredSymbol(decl, ct);
            var solution = document.Project.Solution;
            var refs = symbol?.DeclaringSyntaxReferences ?? ImmutableArray.Create(decl.GetReference());
            foreach (var group in refs.GroupBy(r => r.SyntaxTree))
            {
                var doc = solution.GetDocument(group.Key);
                if (doc is null) continue;
                var root = await doc.GetSyntaxRootAsync(ct).ConfigureAwait(false);
                var targets = group.Select(r => r.GetSyntax(ct)).OfType<ClassDeclarationSyntax>().Where(d => !d.Modifiers.Any(SyntaxKind.PartialKeyword)).ToList();
                root = root!.ReplaceNodes(targets, (original, _) => AddPartial(original));
                solution = solution.WithDocumentSyntaxRoot(doc.Id, root);
            }
            return solution;
        }

        private static ClassDeclarationSyntax AddPartial(ClassDeclarationSyntax decl)
        {
            // 'partial' goes last among the modifiers, right before 'class'.
            if (decl.Modifiers.Count == 0)
            {
                var partialFirst = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithLeadingTrivia(decl.Keyword.LeadingTrivia).WithTrailingTrivia(SyntaxFactory.Space);
                return decl.WithKeyword(decl.Keyword.WithLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(partialFirst));
            }
            return decl.WithModifiers(decl.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space)));
        }
    }

    /// <summary>
    /// A fix that replaces the flagged attribute argument with a value the analyzer computed and passed in the
    /// diagnostic's properties.
    /// </summary>
    public abstract class ReplaceArgumentCodeFix : CodeFixProvider
    {
        private readonly string _property;
        private readonly string _titleFormat;

        /// <summary>Creates the fix for <paramref name="ids"/>, reading the new value from <paramref name="property"/>.</summary>
        protected ReplaceArgumentCodeFix(string property, string titleFormat, params string[] ids)
        {
            _property = property;
            _titleFormat = titleFormat;
            FixableDiagnosticIds = ImmutableArray.Create(ids);
        }

        /// <inheritdoc />
        public sealed override ImmutableArray<string> FixableDiagnosticIds { get; }

        /// <inheritdoc />
        public sealed override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public sealed override Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            if (diagnostic.Properties.TryGetValue(_property, out var value) && value is not null)
                context.RegisterCodeFix(CodeAction.Create(string.Format(System.Globalization.CultureInfo.InvariantCulture, _titleFormat, value),
                    ct => Literals.ReplaceAsync(context.Document, diagnostic.Location, value, ct), GetType().Name), diagnostic);
            return Task.CompletedTask;
        }
    }

    /// <summary>LORA0004 / LORA0005: set Rank to the largest rank that still saves parameters.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ClampRankCodeFix)), Shared]
    public sealed class ClampRankCodeFix() : ReplaceArgumentCodeFix("MaxRank", "Set Rank = {0}", "LORA0004", "LORA0005");

    /// <summary>LORA0002: replace a zero or negative Alpha with the rank (scaling 1).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AlphaFromRankCodeFix)), Shared]
    public sealed class AlphaFromRankCodeFix() : ReplaceArgumentCodeFix("Rank", "Set Alpha = {0} (the rank)", "LORA0002");

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

    internal static class Literals
    {
        /// <summary>Replaces the expression at <paramref name="location"/> with a numeric literal.</summary>
        public static async Task<Document> ReplaceAsync(Document document, Location location, string value, CancellationToken ct)
        {
            var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            if (root?.FindNode(location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax expr) return document;
            var literal = SyntaxFactory.ParseExpression(value).WithTriviaFrom(expr);
            return document.WithSyntaxRoot(root.ReplaceNode(expr, literal));
        }
    }
}
