using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0102: a constructor of a TorchSharp module with <c>[Lora]</c> fields (or of a <c>[LoraModel]</c> root) that
    /// neither calls <c>RegisterComponents()</c> nor chains to another constructor with <c>this(...)</c>.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class TorchRegisterComponentsAnalyzer : TorchAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TorchMissingRegisterComponents);

        /// <inheritdoc />
        private protected override void Register(CompilationStartAnalysisContext start, TorchSymbols torch)
        {
            start.RegisterSyntaxNodeAction(c => Analyze(c, torch), SyntaxKind.ConstructorDeclaration);
        }

        private static void Analyze(SyntaxNodeAnalysisContext c, TorchSymbols torch)
        {
            var ctor = (ConstructorDeclarationSyntax)c.Node;
            if (ctor.Modifiers.Any(SyntaxKind.StaticKeyword) || ctor.Initializer?.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword) == true) return;
            if (ctor.Body is null && ctor.ExpressionBody is null) return;
            if (c.SemanticModel.GetDeclaredSymbol(ctor, c.CancellationToken) is not { ContainingType: { } type }) return;
            if (!torch.IsModule(type) || !IsLoraModule(type, torch)) return;
            bool registers = ctor.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(inv =>
                inv.Expression is IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" }
                    or MemberAccessExpressionSyntax { Name.Identifier.ValueText: "RegisterComponents" }
                && c.SemanticModel.GetSymbolInfo(inv, c.CancellationToken).Symbol is IMethodSymbol { Name: "RegisterComponents" });
            if (!registers)
                c.ReportDiagnostic(Diagnostic.Create(Descriptors.TorchMissingRegisterComponents, ctor.Identifier.GetLocation(), type.Name));
        }

        private static bool IsLoraModule(INamedTypeSymbol type, TorchSymbols torch) =>
            type.GetMembers().OfType<IFieldSymbol>().Any(torch.IsAdaptedField)
            || (torch.LoraModel is not null && type.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, torch.LoraModel)));
    }
}
