using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// QLoRA's low-precision base (<c>[LoraModel(BaseQuantization = ...)]</c>): LORA0214, an adapted Embedding in such a
    /// model (its base cannot be quantized: it stays fp32); LORA0217, a format the TorchSharp backend does not keep (Int8)
    /// on a TorchSharp model. LORA0215 (any setting on a TorchSharp model) is retired: the TorchSharp backend keeps
    /// NF4/BF16 bases too.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class QuantizationAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.QuantizedEmbedding, Descriptors.TorchQuantizationUnsupported);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var loraModel = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraModelAttribute);
                if (loraModel is null) return;
                var torch = TorchSymbols.Create(start.Compilation);
                var symbols = ModuleSymbols.From(start.Compilation);
                start.RegisterSymbolAction(c => Analyze(c, loraModel, torch, symbols), SymbolKind.NamedType);
            });
        }

        /// <summary>The formats the TorchSharp backend keeps (TorchQuantizedBase.Keeps): an allow-list, so a format added later is reported too.</summary>
        private static bool TorchKeeps(string format) => format is "Nf4" or "Bf16";

        private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol loraModel, TorchSymbols? torch, ModuleSymbols? symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var attribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, loraModel));
            if (attribute is null) return;
            var spec = LoraModelSpec.Read(attribute);
            if (spec.BaseQuantization == 0) return;
            string format = spec.BaseQuantization < EnumNames.LoraBaseQuantization.Length ? EnumNames.LoraBaseQuantization[spec.BaseQuantization] : spec.BaseQuantization.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var where = AttributeArguments.Location(attribute, RuntimeNames.BaseQuantizationProperty, context.CancellationToken)
                ?? attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            if (torch is not null && torch.IsModule(type))
            {
                if (!TorchKeeps(format)) context.ReportDiagnostic(Diagnostic.Create(Descriptors.TorchQuantizationUnsupported, where, type.Name, format));
                return;
            }
            if (symbols is null || !symbols.IsModule(type)) return;
            var fields = ModuleGraph.AdaptableFields(type, symbols, context.CancellationToken);
            foreach (var f in fields)
            {
                if (f.Kind != AdaptableKind.Embedding) continue;
                bool adapted = f.Lora is not null || spec.Targets.Any(t => TargetMatching.Selects(t, f.PathTemplate, false, false));
                if (adapted) context.ReportDiagnostic(Diagnostic.Create(Descriptors.QuantizedEmbedding, where, type.Name, format, f.PathTemplate));
            }
        }
    }
}
