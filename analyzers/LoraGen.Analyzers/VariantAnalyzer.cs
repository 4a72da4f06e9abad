using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// LORA02xx, the PiSSA/OLoRA rules on the attributes: LORA0202, PiSSA/OLoRA initialisation with dropout; LORA0203,
    /// PiSSA/OLoRA on an Embedding field (managed or TorchSharp; both backends, as PEFT, initialise Linear layers only);
    /// LORA0216, DoRA together with PiSSA/OLoRA in one attribute (both backends refuse it at run time).
    /// LORA0201 (DoRA on a TorchSharp model) is retired: both backends apply DoRA.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class VariantAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.ResidualInitWithDropout, Descriptors.ResidualInitOnEmbedding, Descriptors.DoraWithResidualInit);

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
            string name = symbol is IFieldSymbol ? $"{symbol.ContainingType.Name}.{symbol.Name}" : symbol.Name;
            var whole = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            if (spec.Init is not (Pissa or Olora)) return;
            string init = EnumNames.LoraInit[spec.Init];
            if (spec.Dropout > 0)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ResidualInitWithDropout, AttributeArguments.Location(attribute, RuntimeNames.DropoutProperty, context.CancellationToken) ?? whole,
                    name, init, spec.Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (spec.UseDora)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.DoraWithResidualInit, AttributeArguments.Location(attribute, RuntimeNames.UseDoraProperty, context.CancellationToken) ?? whole, name, init));
            if (symbol is IFieldSymbol field && IsEmbedding(AttributeArguments.ElementType(field.Type), torch, symbols))
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ResidualInitOnEmbedding, AttributeArguments.Location(attribute, RuntimeNames.InitProperty, context.CancellationToken) ?? whole, name, init));
        }

        /// <summary>A managed <c>LoraGen.Nn.Embedding</c> or TorchSharp's <c>Embedding</c> (or a type derived from one).</summary>
        private static bool IsEmbedding(ITypeSymbol type, TorchSymbols? torch, ModuleSymbols? symbols)
        {
            if (symbols is not null && symbols.AdaptableKindOf(type) == AdaptableKind.Embedding) return true;
            for (var t = type; torch?.Embedding is not null && t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t, torch.Embedding)) return true;
            return false;
        }
    }
}
