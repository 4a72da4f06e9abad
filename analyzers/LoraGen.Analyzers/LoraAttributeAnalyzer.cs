using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// Checks each <c>[Lora]</c>: its values (rank, alpha, dropout), what it is placed on (field type, static,
    /// property, containing type), and — where the layer is constructed with constant sizes — the rank against
    /// the layer's dimensions.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LoraAttributeAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.RankTooSmall, Descriptors.AlphaNotPositive, Descriptors.DropoutOutOfRange, Descriptors.RankAboveDimensions,
            Descriptors.NoSavings, Descriptors.NotAdaptable, Descriptors.StaticField, Descriptors.OnProperty, Descriptors.TypeNotPartial,
            Descriptors.NotAModule, Descriptors.RankNotPowerOfTwo, Descriptors.ExtremeAlphaRatio);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var lora = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraAttribute);
                if (lora is null) return;
                var symbols = ModuleSymbols.From(start.Compilation);
                var torch = TorchSymbols.Create(start.Compilation);
                start.RegisterSymbolAction(c => AnalyzeMember(c, lora, symbols, torch), SymbolKind.Field, SymbolKind.Property);
                if (symbols is not null)
                {
                    start.RegisterSymbolAction(c => AnalyzeType(c, lora, symbols), SymbolKind.NamedType);
                    // Constructions are collected per type and reported when the type is done: the diagnostic sits on the
                    // attribute's Rank, outside the construction (say in a constructor), and a symbol-end report keeps it
                    // local to the type, so the IDE computes it for the span being edited and the fixes can see it.
                    start.RegisterSymbolStartAction(typeStart =>
                    {
                        var type = (INamedTypeSymbol)typeStart.Symbol;
                        var found = new List<Diagnostic>();
                        typeStart.RegisterOperationAction(c =>
                        {
                            if (!SymbolEqualityComparer.Default.Equals(c.ContainingSymbol.ContainingType, type)) return;   // nested types report their own
                            if (AnalyzeConstruction((IObjectCreationOperation)c.Operation, lora, symbols) is { } d)
                                lock (found) found.Add(d);
                        }, OperationKind.ObjectCreation);
                        typeStart.RegisterSymbolEndAction(end =>
                        {
                            lock (found)
                                foreach (var d in found.OrderBy(d => d.Location.SourceSpan.Start)) end.ReportDiagnostic(d);
                        });
                    }, SymbolKind.NamedType);
                }
            });
        }

        internal static AttributeData? FindLora(ISymbol symbol, INamedTypeSymbol lora) =>
            symbol.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, lora));

        private static void AnalyzeMember(SymbolAnalysisContext context, INamedTypeSymbol lora, ModuleSymbols? symbols, TorchSymbols? torch)
        {
            var attribute = FindLora(context.Symbol, lora);
            if (attribute is null) return;
            var member = context.Symbol;
            var where = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None;
            string name = $"{member.ContainingType.Name}.{member.Name}";

            // Placement.
            if (member is IPropertySymbol)
            {
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.OnProperty, where, name));
                return;
            }
            var field = (IFieldSymbol)member;
            if (field.IsStatic)
            {
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.StaticField, where, name));
                return;
            }
            if (torch is not null && torch.IsModule(field.ContainingType))
            {
                // A TorchSharp module: the layer must be TorchSharp's Linear/Embedding (or an array/ModuleList of them).
                if (!torch.IsAdaptedField(field))
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.NotAdaptable, where, name, field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)));
            }
            else if (symbols is not null)
            {
                var shape = symbols.ShapeOf(field.Type, out var element);
                if (shape == ChildShape.None || symbols.AdaptableKindOf(element) == AdaptableKind.None)
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.NotAdaptable, where, name, field.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)));
                if (!symbols.IsModule(field.ContainingType))
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.NotAModule, where, field.ContainingType.Name, "Lora"));
                // A module that is not partial: reported once for the type, in AnalyzeType.
            }

            // Values.
            SettingsChecks.Check(attribute, name, context.ReportDiagnostic);
        }

        /// <summary>LORA0009: a Module with an instance [Lora] field that is not partial, once per type.</summary>
        private static void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol lora, ModuleSymbols symbols)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            if (type.TypeKind != TypeKind.Class || !symbols.IsModule(type) || ModuleGraph.IsPartial(type, context.CancellationToken)) return;
            bool hasLoraField = type.GetMembers().Any(m => m is IFieldSymbol { IsStatic: false, IsImplicitlyDeclared: false } && FindLora(m, lora) is not null);
            if (!hasLoraField) return;
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.TypeNotPartial, type.Locations.FirstOrDefault() ?? Location.None,
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Type, type.Name), type.Name));
        }

        /// <summary>`field = new Linear(in, out)` (initializer or assignment) with constant sizes: check the rank.</summary>
        private static Diagnostic? AnalyzeConstruction(IObjectCreationOperation creation, INamedTypeSymbol lora, ModuleSymbols symbols)
        {
            var kind = symbols.AdaptableKindOf(creation.Type);
            if (kind == AdaptableKind.None) return null;
            // Target-typed `new(...)` sits under an implicit conversion.
            var parent = creation.Parent;
            while (parent is IConversionOperation) parent = parent.Parent;
            IFieldSymbol? field = parent switch
            {
                IFieldInitializerOperation init when init.InitializedFields.Length == 1 => init.InitializedFields[0],
                ISimpleAssignmentOperation { Target: IFieldReferenceOperation f } => f.Field,
                _ => null,
            };
            if (field is null || field.IsStatic) return null;   // a static [Lora] field is LORA0007 already
            var attribute = FindLora(field, lora);
            if (attribute is null) return null;
            if (!TryConstantSize(creation, 0, out int a) || !TryConstantSize(creation, 1, out int b) || a < 1 || b < 1) return null;
            var spec = LoraSpec.Read(attribute);
            if (ConfigRules.Rank(spec.Rank) is not null) return null;   // LORA0001 already
            // Linear(in, out): ΔW is [out, in]; Embedding(num, dim): ΔW is [num, dim]. Either way r·(a + b) vs a·b.
            int limit = Math.Min(a, b);
            string name = $"{field.ContainingType.Name}.{field.Name}";
            string layer = kind == AdaptableKind.Linear ? $"Linear({a}, {b})" : $"Embedding({a}, {b})";
            var props = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.MaxRank, SettingsChecks.LargestPowerOfTwoAtMost(MaxUsefulRank(a, b)).ToString(CultureInfo.InvariantCulture));
            var location = SettingsChecks.ArgumentLocation(attribute, RuntimeNames.RankProperty);
            if (location == Location.None) location = field.Locations.FirstOrDefault() ?? Location.None;
            long adapter = (long)spec.Rank * (a + b), weights = (long)a * b;
            if (spec.Rank > limit)
                return Diagnostic.Create(Descriptors.RankAboveDimensions, location, props, spec.Rank, name, limit, layer);
            if (spec.Rank == limit || adapter >= weights)
                return Diagnostic.Create(Descriptors.NoSavings, location, props, spec.Rank, name,
                    adapter.ToString("N0", CultureInfo.InvariantCulture), layer, weights.ToString("N0", CultureInfo.InvariantCulture));
            return null;
        }

        /// <summary>The largest rank below min(a, b) whose adapter is smaller than the layer (at least 1).</summary>
        internal static int MaxUsefulRank(int a, int b)
        {
            int r = Math.Min(a, b) - 1;
            while (r > 1 && (long)r * (a + b) >= (long)a * b) r--;
            return Math.Max(1, r);
        }

        private static bool TryConstantSize(IObjectCreationOperation creation, int ordinal, out int value)
        {
            value = 0;
            var arg = creation.Arguments.FirstOrDefault(x => x.Parameter?.Ordinal == ordinal);
            if (arg?.Value.ConstantValue is { HasValue: true, Value: int v }) { value = v; return true; }
            return false;
        }
    }
}
