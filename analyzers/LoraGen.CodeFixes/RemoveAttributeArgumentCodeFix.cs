using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.CodeFixes
{
    /// <summary>
    /// LORA0202/0203/0216: remove the flagged attribute argument (<c>Dropout</c> with PiSSA/OLoRA, <c>Init</c> on an
    /// Embedding, <c>UseDora</c> with PiSSA/OLoRA).
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveAttributeArgumentCodeFix)), Shared]
    public sealed class RemoveAttributeArgumentCodeFix : CodeFixProvider
    {
        /// <inheritdoc />
        public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create("LORA0202", "LORA0203", "LORA0216");

        /// <inheritdoc />
        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        /// <inheritdoc />
        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var diagnostic = context.Diagnostics[0];
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            var argument = root?.FindNode(diagnostic.Location.SourceSpan).AncestorsAndSelf().OfType<AttributeArgumentSyntax>().FirstOrDefault();
            if (root is null || argument?.Parent is not AttributeArgumentListSyntax list) return;
            string name = argument.NameEquals?.Name.Identifier.ValueText ?? argument.ToString();
            context.RegisterCodeFix(CodeAction.Create($"Remove {name}", _ =>
            {
                var newList = list.WithArguments(list.Arguments.Remove(argument));
                SyntaxNode newRoot = newList.Arguments.Count == 0 && list.Parent is AttributeSyntax attribute
                    ? root.ReplaceNode(attribute, attribute.WithArgumentList(null))
                    : root.ReplaceNode(list, newList);
                return Task.FromResult(context.Document.WithSyntaxRoot(newRoot));
            }, nameof(RemoveAttributeArgumentCodeFix)), diagnostic);
        }
    }
}
