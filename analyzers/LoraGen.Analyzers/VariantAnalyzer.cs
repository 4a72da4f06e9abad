using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA02xx, the LoRA-variant rules on the attributes: LORA0201, DoRA (<c>UseDora = true</c>) on a
    /// <c>[Lora]</c> field or <c>[LoraModel]</c> of a TorchSharp model, whose backend has no DoRA.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class VariantAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.DoraUnsupported);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var lora = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraAttribute);
                var loraModel = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraModelAttribute);
                if (lora is null && loraModel is null) return;
                var torch = TorchSymbols.Create(start.Compilation);
                start.RegisterSymbolAction(c => Analyze(c, lora, loraModel, torch), SymbolKind.Field, SymbolKind.NamedType);
            });
        }

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol? lora, INamedTypeSymbol? loraModel, TorchSymbols? torch)
        {
            var symbol = context.Symbol;
            var attribute = symbol.GetAttributes().FirstOrDefault(a =>
                SymbolEqualityComparer.Default.Equals(a.AttributeClass, symbol is IFieldSymbol ? lora : loraModel));
            if (attribute is null || !LoraSpec.Read(attribute).UseDora) return;
            var module = symbol as INamedTypeSymbol ?? symbol.ContainingType;
            if (torch is null || !torch.IsModule(module)) return;
            var where = DoraArgument(attribute, context) ?? attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            string name = symbol is IFieldSymbol ? $"{symbol.ContainingType.Name}.{symbol.Name}" : symbol.Name;
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.DoraUnsupported, where, name, "it is a TorchSharp module and the TorchSharp backend has no DoRA yet"));
        }

        /// <summary>The <c>UseDora = true</c> argument's location, for the squiggle and the fix.</summary>
        private static Location? DoraArgument(AttributeData attribute, SymbolAnalysisContext context)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is not Microsoft.CodeAnalysis.CSharp.Syntax.AttributeSyntax syntax) return null;
            var arg = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == RuntimeNames.UseDoraProperty);
            return arg?.GetLocation();
        }
    }
}
