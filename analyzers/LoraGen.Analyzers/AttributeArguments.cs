using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.Analyzers
{
    /// <summary>Where an attribute's settings stand in source, and what a field holds — shared by the variant rules.</summary>
    internal static class AttributeArguments
    {
        /// <summary>The location of the named argument <paramref name="property"/> (for the squiggle and the fix), or null when it is not written.</summary>
        public static Location? Location(AttributeData attribute, string property, CancellationToken cancellationToken)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax) return null;
            var arg = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == property);
            return arg?.GetLocation();
        }

        /// <summary>The element type of an array or a one-argument generic (<c>ModuleList&lt;T&gt;</c>), else the type itself.</summary>
        public static ITypeSymbol ElementType(ITypeSymbol type) =>
            type is IArrayTypeSymbol array ? array.ElementType
            : type is INamedTypeSymbol { IsGenericType: true } named && named.TypeArguments.Length == 1 ? named.TypeArguments[0]
            : type;
    }
}
