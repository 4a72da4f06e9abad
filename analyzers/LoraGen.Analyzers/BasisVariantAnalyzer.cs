using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// The VeRA/NoLA rules on the attributes (<c>Variant = LoraVariant.Vera/Nola</c>): LORA0210, VeRA fields of one
    /// type (and its <c>[LoraModel]</c> defaults) with different ranks; LORA0211, NoLA with <c>NolaBases</c> &lt; 1;
    /// LORA0212, VeRA/NoLA on an Embedding field (managed or TorchSharp: both backends adapt Linear layers only);
    /// LORA0213, VeRA/NoLA with DoRA, PiSSA or OLoRA.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class BasisVariantAnalyzer : DiagnosticAnalyzer
    {
        private const int Lora = 0, Vera = 1, Pissa = 2, Olora = 3;   // LoraVariant and LoraInit values (EnumNames)

        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.VeraRanksDiffer, Descriptors.NolaTooFewBases, Descriptors.BasisVariantUnsupported, Descriptors.BasisVariantConflict);

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
                start.RegisterSymbolAction(c => AnalyzeOne(c, lora, loraModel, torch, symbols), SymbolKind.Field, SymbolKind.NamedType);
                start.RegisterSymbolAction(c => AnalyzeRanks(c, lora, loraModel), SymbolKind.NamedType);
            });
        }

        private static AttributeData? AttributeOf(ISymbol symbol, INamedTypeSymbol? type) =>
            type is null ? null : symbol.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, type));

        private static string NameOf(ISymbol symbol) => symbol is IFieldSymbol ? $"{symbol.ContainingType.Name}.{symbol.Name}" : symbol.Name;

        private static void AnalyzeOne(SymbolAnalysisContext context, INamedTypeSymbol? lora, INamedTypeSymbol? loraModel, TorchSymbols? torch, ModuleSymbols? symbols)
        {
            var symbol = context.Symbol;
            var attribute = AttributeOf(symbol, symbol is IFieldSymbol ? lora : loraModel);
            if (attribute is null) return;
            var spec = LoraSpec.Read(attribute);
            if (spec.Variant == Lora) return;
            string name = NameOf(symbol), variant = VariantName(spec.Variant);
            var whole = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            var variantWhere = AttributeArguments.Location(attribute, RuntimeNames.VariantProperty, context.CancellationToken) ?? whole;
            if (spec.Variant != Vera && spec.NolaBases < 1)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.NolaTooFewBases, AttributeArguments.Location(attribute, RuntimeNames.NolaBasesProperty, context.CancellationToken) ?? whole,
                    name, spec.NolaBases.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (symbol is IFieldSymbol field && IsEmbedding(AttributeArguments.ElementType(field.Type), torch, symbols))
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.BasisVariantUnsupported, variantWhere, name, variant, "it is an Embedding: VeRA and NoLA adapt Linear layers only"));
            if (spec.UseDora)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.BasisVariantConflict, AttributeArguments.Location(attribute, RuntimeNames.UseDoraProperty, context.CancellationToken) ?? whole, name, variant, "DoRA (UseDora = true)"));
            if (spec.Init is Pissa or Olora)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.BasisVariantConflict, AttributeArguments.Location(attribute, RuntimeNames.InitProperty, context.CancellationToken) ?? whole, name, variant, $"{EnumNames.LoraInit[spec.Init]} initialisation"));
        }

        /// <summary>A managed or TorchSharp Embedding (or a type deriving from one).</summary>
        private static bool IsEmbedding(ITypeSymbol? type, TorchSymbols? torch, ModuleSymbols? symbols)
        {
            if (symbols is not null && symbols.AdaptableKindOf(type) == AdaptableKind.Embedding) return true;
            for (var t = type; t is not null && torch?.Embedding is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t, torch.Embedding)) return true;
            return false;
        }

        /// <summary>LORA0210: the VeRA ranks of one type's fields and its [LoraModel] defaults must agree.</summary>
        private static void AnalyzeRanks(SymbolAnalysisContext context, INamedTypeSymbol? lora, INamedTypeSymbol? loraModel)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var vera = new List<(ISymbol Symbol, AttributeData Attribute, int Rank)>();
            if (AttributeOf(type, loraModel) is { } m && LoraSpec.Read(m) is { Variant: Vera } ms) vera.Add((type, m, ms.Rank));
            foreach (var field in type.GetMembers().OfType<IFieldSymbol>())
                if (AttributeOf(field, lora) is { } a && LoraSpec.Read(a) is { Variant: Vera } fs) vera.Add((field, a, fs.Rank));
            if (vera.Count < 2) return;
            var first = vera[0];
            foreach (var other in vera.Skip(1).Where(v => v.Rank != first.Rank))
            {
                var where = AttributeArguments.Location(other.Attribute, RuntimeNames.RankProperty, context.CancellationToken)
                    ?? other.Attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.VeraRanksDiffer, where,
                    NameOf(other.Symbol), other.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    NameOf(first.Symbol), first.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        private static string VariantName(int variant) => variant == Vera ? "VeRA" : variant == 2 ? "NoLA" : $"variant {variant}";
    }
}
