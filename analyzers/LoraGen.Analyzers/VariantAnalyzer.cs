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
    /// <c>[Lora]</c> field or <c>[LoraModel]</c> of a TorchSharp model, whose backend has no DoRA; LORA0202, PiSSA/OLoRA
    /// initialisation with dropout; LORA0203, PiSSA/OLoRA on an Embedding field or a TorchSharp model.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class VariantAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.DoraUnsupported, Descriptors.ResidualInitWithDropout, Descriptors.ResidualInitUnsupported);

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
                var symbols = ModuleSymbols.From(start.Compilation);
                start.RegisterSymbolAction(c => Analyze(c, lora, loraModel, torch, symbols), SymbolKind.Field, SymbolKind.NamedType);
            });
        }

        private const int Pissa = 2, Olora = 3;   // LoraInit values (EnumNames.LoraInit)

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol? lora, INamedTypeSymbol? loraModel, TorchSymbols? torch, ModuleSymbols? symbols)
        {
            var symbol = context.Symbol;
            var attribute = symbol.GetAttributes().FirstOrDefault(a =>
                SymbolEqualityComparer.Default.Equals(a.AttributeClass, symbol is IFieldSymbol ? lora : loraModel));
            if (attribute is null) return;
            var spec = LoraSpec.Read(attribute);
            var module = symbol as INamedTypeSymbol ?? symbol.ContainingType;
            bool onTorch = torch is not null && torch.IsModule(module);
            string name = symbol is IFieldSymbol ? $"{symbol.ContainingType.Name}.{symbol.Name}" : symbol.Name;
            var whole = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            if (spec.UseDora && onTorch)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.DoraUnsupported, Argument(attribute, RuntimeNames.UseDoraProperty, context) ?? whole,
                    name, "it is a TorchSharp module and the TorchSharp backend has no DoRA yet"));
            if (spec.Init is not (Pissa or Olora)) return;
            string init = EnumNames.LoraInit[spec.Init];
            var initWhere = Argument(attribute, RuntimeNames.InitProperty, context) ?? whole;
            if (spec.Dropout > 0)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ResidualInitWithDropout, Argument(attribute, RuntimeNames.DropoutProperty, context) ?? whole,
                    name, init, spec.Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (onTorch)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ResidualInitUnsupported, initWhere, name, init, "it is a TorchSharp module and the TorchSharp backend does not implement it yet"));
            else if (symbol is IFieldSymbol field && symbols is not null && symbols.AdaptableKindOf(ElementType(field.Type)) == AdaptableKind.Embedding)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ResidualInitUnsupported, initWhere, name, init, "it is an Embedding: PEFT (and LoraGen) initialise Linear layers this way only"));
        }

        private static ITypeSymbol ElementType(ITypeSymbol type) =>
            type is IArrayTypeSymbol array ? array.ElementType
            : type is INamedTypeSymbol { IsGenericType: true } named && named.TypeArguments.Length == 1 ? named.TypeArguments[0]
            : type;

        /// <summary>The location of the named argument <paramref name="property"/>, for the squiggle and the fix.</summary>
        private static Location? Argument(AttributeData attribute, string property, SymbolAnalysisContext context)
        {
            if (attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) is not Microsoft.CodeAnalysis.CSharp.Syntax.AttributeSyntax syntax) return null;
            var arg = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == property);
            return arg?.GetLocation();
        }
    }
}
