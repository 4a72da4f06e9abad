using System.Collections.Generic;
using System.Collections.Immutable;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA0024: a Module constructor puts one Linear/Embedding into two of its fields or properties
    /// (<c>decoder = encoder;</c>, or one local assigned to both): the layer is shared (tied), so it is adapted once and
    /// saved under its first path only.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class SharedLayerAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SharedLayer);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = ModuleSymbols.From(start.Compilation);
                if (symbols is null) return;
                start.RegisterSyntaxNodeAction(c => Analyze(c, symbols), SyntaxKind.ConstructorDeclaration);
            });
        }

        private static void Analyze(SyntaxNodeAnalysisContext context, ModuleSymbols symbols)
        {
            var ctor = (ConstructorDeclarationSyntax)context.Node;
            if (context.SemanticModel.GetDeclaredSymbol(ctor, context.CancellationToken) is not { ContainingType: { } type } || !symbols.IsModule(type)) return;
            // Which member first received each layer value: keyed by the member or local the value came from.
            var holder = new Dictionary<ISymbol, ISymbol>(SymbolEqualityComparer.Default);
            foreach (var assignment in ctor.DescendantNodes())
            {
                if (assignment is not AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.SimpleAssignmentExpression } a) continue;
                var target = context.SemanticModel.GetSymbolInfo(a.Left, context.CancellationToken).Symbol;
                if (!IsLayerMember(target, type, symbols)) continue;
                var source = context.SemanticModel.GetSymbolInfo(a.Right, context.CancellationToken).Symbol;
                ISymbol? first = null;
                if (IsLayerMember(source, type, symbols)) first = source;                          // decoder = encoder;
                else if (source is ILocalSymbol or IParameterSymbol)                                // encoder = l; decoder = l;
                {
                    if (!holder.TryGetValue(source, out first)) { holder[source] = target!; continue; }
                }
                if (first is null || SymbolEqualityComparer.Default.Equals(first, target)) continue;
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.SharedLayer, a.GetLocation(), target!.Name, first.Name));
            }
        }

        /// <summary>An instance field or property of <paramref name="type"/> typed Linear or Embedding.</summary>
        private static bool IsLayerMember(ISymbol? symbol, INamedTypeSymbol type, ModuleSymbols symbols) => symbol switch
        {
            IFieldSymbol { IsStatic: false } f => SymbolEqualityComparer.Default.Equals(f.ContainingType, type) && symbols.AdaptableKindOf(f.Type) != AdaptableKind.None,
            IPropertySymbol { IsStatic: false } p => SymbolEqualityComparer.Default.Equals(p.ContainingType, type) && symbols.AdaptableKindOf(p.Type) != AdaptableKind.None,
            _ => false,
        };
    }
}
