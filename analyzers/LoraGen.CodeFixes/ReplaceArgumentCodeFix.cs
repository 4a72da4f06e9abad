using System.Collections.Immutable;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.CodeFixes
{
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
                context.RegisterCodeFix(CodeAction.Create(string.Format(CultureInfo.InvariantCulture, _titleFormat, value),
                    ct => ReplaceAsync(context.Document, diagnostic.Location, value, ct), GetType().Name), diagnostic);
            return Task.CompletedTask;
        }

        /// <summary>Replaces the expression at <paramref name="location"/> with the literal <paramref name="value"/>.</summary>
        private static async Task<Document> ReplaceAsync(Document document, Location location, string value, CancellationToken ct)
        {
            var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            if (root?.FindNode(location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax expr) return document;
            var literal = SyntaxFactory.ParseExpression(value).WithTriviaFrom(expr);
            return document.WithSyntaxRoot(root.ReplaceNode(expr, literal));
        }
    }
}
