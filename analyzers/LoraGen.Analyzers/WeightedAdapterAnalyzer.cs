using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// The rules on PEFT's <c>add_weighted_adapter</c> (the controller's <c>AddWeightedAdapter</c>) where its arguments
    /// are constants: LORA0205, an unknown combination type; LORA0206, adapter and weight lists of different lengths
    /// (both written out as arrays or collection expressions); LORA0207, adapters attached in the same method with
    /// constant settings the combination type refuses (different ranks for a same-rank type, a target list and a target
    /// regex, DoRA); LORA0208, a density missing or outside (0, 1] for a type that trims or drops; LORA0209, an unknown
    /// majority sign method.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class WeightedAdapterAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.UnknownCombinationType, Descriptors.CombinationWeightCount, Descriptors.CombinationOfIncompatibleAdapters,
            Descriptors.CombinationDensity, Descriptors.UnknownMajoritySignMethod);

        /// <summary>PEFT's majority sign methods.</summary>
        internal static readonly string[] SignMethods = { "total", "frequency" };

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var controller = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraModelController);
                var torchController = start.Compilation.GetTypeByMetadataName(RuntimeNames.TorchLoraModelController);
                var lOverride = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraOverride);
                if (controller is null && torchController is null) return;
                start.RegisterOperationAction(c => Analyze(c, controller, torchController, lOverride), OperationKind.Invocation);
            });
        }

        private static bool IsController(ITypeSymbol? type, INamedTypeSymbol? a, INamedTypeSymbol? b) =>
            type is not null && (SymbolEqualityComparer.Default.Equals(type, a) || SymbolEqualityComparer.Default.Equals(type, b));

        private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol? controller, INamedTypeSymbol? torchController, INamedTypeSymbol? lOverride)
        {
            var call = (IInvocationOperation)context.Operation;
            if (call.TargetMethod.Name != RuntimeNames.AddWeightedAdapterMember || !IsController(call.TargetMethod.ContainingType, controller, torchController)) return;
            var args = call.Arguments.Where(a => a.Parameter is not null).ToDictionary(a => a.Parameter!.Name, a => a);

            // LORA0205: the combination type (the parameter's default, svd, when left out).
            string? type = CombinationTypes.Svd;
            if (args.TryGetValue(RuntimeNames.CombinationTypeParameter, out var typeArg) && typeArg.ArgumentKind != ArgumentKind.DefaultValue)
            {
                type = ConstantString(typeArg.Value);
                if (type is not null && Array.IndexOf(CombinationTypes.All, type) < 0)
                {
                    var closest = Closest(type, CombinationTypes.All);
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.UnknownCombinationType, Where(typeArg.Value), Fix(closest),
                        type, Descriptors.Names, closest is null ? "" : $"; did you mean \"{closest}\"?"));
                    type = null;
                }
            }

            // LORA0209: the majority sign method.
            if (args.TryGetValue(RuntimeNames.MajoritySignParameter, out var signArg) && signArg.ArgumentKind != ArgumentKind.DefaultValue
                && ConstantString(signArg.Value) is { } sign && Array.IndexOf(SignMethods, sign) < 0)
            {
                var closest = Closest(sign, SignMethods);
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.UnknownMajoritySignMethod, Where(signArg.Value), Fix(closest),
                    sign, closest is null ? "" : $"; did you mean \"{closest}\"?"));
            }

            // LORA0208: density for the trimming and dropping types.
            if (type is not null && NeedsDensity(type))
            {
                if (!args.TryGetValue(RuntimeNames.DensityParameter, out var densityArg) || densityArg.ArgumentKind == ArgumentKind.DefaultValue)
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationDensity, typeArg is not null ? Where(typeArg.Value) : call.Syntax.GetLocation(),
                        type, "needs a density and none is given"));
                else if (Constant(densityArg.Value) is { HasValue: true } c)
                {
                    if (c.Value is null)
                        context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationDensity, Where(densityArg.Value), type, "needs a density and it is null"));
                    else if (Convert.ToDouble(c.Value, CultureInfo.InvariantCulture) is var d && !(d > 0 && d <= 1))
                        context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationDensity, Where(densityArg.Value), type,
                            $"has density {Convert.ToString(c.Value, CultureInfo.InvariantCulture)}"));
                }
            }

            // LORA0206: one weight per adapter.
            args.TryGetValue(RuntimeNames.AdaptersParameter, out var adaptersArg);
            args.TryGetValue(RuntimeNames.WeightsParameter, out var weightsArg);
            var adapters = adaptersArg is null ? null : Elements(adaptersArg.Value);
            var weights = weightsArg is null ? null : Elements(weightsArg.Value);
            if (adapters is not null && weights is not null && adapters.Count != weights.Count)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationWeightCount, weightsArg!.Value.Syntax.GetLocation(), adapters.Count, weights.Count));

            // LORA0207: adapters attached in this method with settings the type refuses.
            if (adapters is null || type is null || lOverride is null) return;
            var maybe = adapters.Select(ConstantString).ToList();
            if (maybe.Any(n => n is null)) return;
            var names = maybe.Select(n => n!).ToList();
            var settings = AttachedSettings(call, controller, torchController, lOverride);
            var known = names.Distinct().Where(n => settings.ContainsKey(n)).Select(n => (Name: n, Settings: settings[n])).ToList();
            var location = adaptersArg!.Value.Syntax.GetLocation();
            if (known.FirstOrDefault(k => k.Settings.UseDora) is { Name: not null } dora)
            {
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationOfIncompatibleAdapters, location, dora.Name, names.FirstOrDefault(n => n != dora.Name) ?? dora.Name, type,
                    $"'{dora.Name}' is a DoRA adapter (UseDora = true) and DoRA magnitudes do not combine"));
                return;
            }
            if (SameRankTypes.Contains(type))
            {
                var ranked = known.Where(k => k.Settings.Rank is not null).ToList();
                var other = ranked.FirstOrDefault(k => k.Settings.Rank != ranked[0].Settings.Rank);
                if (other.Name is not null)
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationOfIncompatibleAdapters, location, ranked[0].Name, other.Name, type,
                        $"{type} needs one rank and they have R = {ranked[0].Settings.Rank} and R = {other.Settings.Rank} (cat or svd take any ranks)"));
                    return;
                }
            }
            var list = known.FirstOrDefault(k => k.Settings.Targets == TargetKind.List);
            var regex = known.FirstOrDefault(k => k.Settings.Targets == TargetKind.Regex);
            if (list.Name is not null && regex.Name is not null)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.CombinationOfIncompatibleAdapters, location, list.Name, regex.Name, type,
                    $"'{list.Name}' has a target list (TargetModules) and '{regex.Name}' a target regex (TargetRegex); PEFT cannot unite the two kinds"));
        }

        /// <summary>The types that need every adapter at one rank (PEFT: the new rank is that rank).</summary>
        private static readonly string[] SameRankTypes =
            { CombinationTypes.Linear, CombinationTypes.Ties, CombinationTypes.DareLinear, CombinationTypes.DareTies, CombinationTypes.MagnitudePrune };

        private static bool NeedsDensity(string type) =>
            type != CombinationTypes.Linear && type != CombinationTypes.Cat && type != CombinationTypes.Svd;

        private enum TargetKind { Unknown, List, Regex }

        private sealed class Settings
        {
            public int? Rank;
            public bool UseDora;
            public TargetKind Targets;
        }

        /// <summary>
        /// The adapters <c>Attach</c>ed in the method (or lambda, or top-level code) around <paramref name="call"/> with a
        /// constant name, and what their <c>new LoraOverride { … }</c> says as constants.
        /// </summary>
        private static Dictionary<string, Settings> AttachedSettings(IOperation call, INamedTypeSymbol? controller, INamedTypeSymbol? torchController, INamedTypeSymbol lOverride)
        {
            var root = call;
            while (root.Parent is not null) root = root.Parent;
            var result = new Dictionary<string, Settings>(StringComparer.Ordinal);
            foreach (var attach in root.Descendants().OfType<IInvocationOperation>())
            {
                if (attach.TargetMethod.Name != RuntimeNames.AttachMember || !IsController(attach.TargetMethod.ContainingType, controller, torchController)) continue;
                var nameArg = attach.Arguments.FirstOrDefault(a => a.Parameter?.Ordinal == 0);
                if (nameArg is null || ConstantString(nameArg.Value) is not { } name) continue;
                var settings = new Settings();
                var config = attach.Arguments.FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.Parameter?.Type, lOverride) && a.ArgumentKind != ArgumentKind.DefaultValue);
                if (Unwrap(config?.Value) is IObjectCreationOperation { Initializer: { } init })
                    foreach (var assignment in init.Initializers.OfType<ISimpleAssignmentOperation>())
                    {
                        if (assignment.Target is not IPropertyReferenceOperation property) continue;
                        var value = Constant(assignment.Value);
                        switch (property.Property.Name)
                        {
                            case RuntimeNames.OverrideRankProperty when value is { HasValue: true, Value: int r }:
                                settings.Rank = r;
                                break;
                            case RuntimeNames.OverrideUseDoraProperty when value is { HasValue: true, Value: true }:
                                settings.UseDora = true;
                                break;
                            case RuntimeNames.OverrideTargetModulesProperty when value is not { HasValue: true, Value: null }:
                                settings.Targets = TargetKind.List;
                                break;
                            case RuntimeNames.OverrideTargetRegexProperty when value is not { HasValue: true, Value: null }:
                                settings.Targets = TargetKind.Regex;
                                break;
                        }
                    }
                result[name] = settings;   // the last Attach of a name wins (an earlier one would throw anyway)
            }
            return result;
        }

        /// <summary>The elements of an array creation or collection expression written out (no spread), else null.</summary>
        private static IReadOnlyList<IOperation>? Elements(IOperation value)
        {
            var v = Unwrap(value);
            if (v is IArrayCreationOperation { Initializer: { } init }) return init.ElementValues;
            if (v?.Syntax is CollectionExpressionSyntax collection && collection.Elements.All(e => e is ExpressionElementSyntax))
            {
                var model = v.SemanticModel;
                if (model is null) return null;
                return collection.Elements.Cast<ExpressionElementSyntax>().Select(e => model.GetOperation(e.Expression)).Where(o => o is not null).ToList()!;
            }
            return null;
        }

        private static IOperation? Unwrap(IOperation? op)
        {
            while (op is IConversionOperation { IsImplicit: true } c) op = c.Operand;
            return op;
        }

        private static Optional<object?> Constant(IOperation op) => (Unwrap(op) ?? op).ConstantValue.HasValue ? (Unwrap(op) ?? op).ConstantValue : op.ConstantValue;

        private static string? ConstantString(IOperation? op) => op is null ? null : Constant(op) is { HasValue: true, Value: string s } ? s : null;

        private static Location Where(IOperation value) => (Unwrap(value) ?? value).Syntax.GetLocation();

        private static ImmutableDictionary<string, string?> Fix(string? closest) =>
            closest is null ? ImmutableDictionary<string, string?>.Empty
            : ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Replacement, SymbolDisplay.FormatLiteral(closest, quote: true));

        /// <summary>
        /// The valid name <paramref name="name"/> most likely meant: the same after lower-casing and turning '-' and ' '
        /// into '_', else the only one within edit distance 1 (2 for names of 8 characters or more; null when none or
        /// several are equally near).
        /// </summary>
        internal static string? Closest(string name, IReadOnlyList<string> valid)
        {
            string normal = name.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
            foreach (var v in valid) if (v == normal) return v;
            var near = valid.Select(v => (Name: v, Distance: Distance(normal, v))).Where(x => x.Distance <= (x.Name.Length >= 8 ? 2 : 1)).OrderBy(x => x.Distance).ToList();
            if (near.Count == 0 || (near.Count > 1 && near[1].Distance == near[0].Distance)) return null;
            return near[0].Name;
        }

        /// <summary>Levenshtein distance.</summary>
        private static int Distance(string a, string b)
        {
            var prev = new int[b.Length + 1];
            var cur = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) prev[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                cur[0] = i;
                for (int j = 1; j <= b.Length; j++)
                    cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                (prev, cur) = (cur, prev);
            }
            return prev[b.Length];
        }
    }
}
