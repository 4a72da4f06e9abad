using System.Collections.Immutable;
using System.Composition;
using System.Linq;
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
    /// <summary>LORA0009 / LORA0020 / LORA0021: add <c>partial</c> to every declaration of the type.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFix)), Shared]
    public sealed class MakePartialCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0009", "LORA0020", "LORA0021");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            if (!diagnostic.Properties.TryGetValue(DiagnosticProperties.Type, out var typeName) || typeName is null) return;
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
}
