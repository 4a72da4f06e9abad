using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using LoraGen.Contract;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// Checks module types as a whole: the <c>[LoraModel]</c> root (partial Module, targets that match a layer,
    /// well-formed patterns, no double configuration), path collisions between children, and module types the
    /// generator must skip because an enclosing type is not partial.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LoraModelAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
            Descriptors.TargetMatchesNothing, Descriptors.ConflictingSettings, Descriptors.KeyCollision, Descriptors.BadPattern,
            Descriptors.ContainingTypeNotPartial, Descriptors.RootNotModule, Descriptors.NotAModule,
            Descriptors.RankTooSmall, Descriptors.AlphaNotPositive, Descriptors.DropoutOutOfRange, Descriptors.RankNotPowerOfTwo, Descriptors.ExtremeAlphaRatio,
            Descriptors.ModuleWithChildrenNotPartial, Descriptors.MissingLoraModel, Descriptors.BadModuleName);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var symbols = ModuleSymbols.From(start.Compilation);
                var root = start.Compilation.GetTypeByMetadataName(RuntimeNames.LoraModelAttribute);
                var torch = TorchSymbols.Create(start.Compilation);
                start.RegisterSymbolAction(c => Analyze(c, symbols, root, torch), SymbolKind.NamedType);
                if (symbols is not null && root is not null)
                    start.RegisterSyntaxNodeAction(c => AnalyzeFacadeAccess(c, symbols, root), SyntaxKind.SimpleMemberAccessExpression);
            });
        }

        /// <summary>
        /// LORA0023: a [ModuleName]/[Lora(Name)] string that is not a valid module-path segment, and a module type or
        /// member named like a member the generator adds to that type.
        /// </summary>
        private static void CheckNames(SymbolAnalysisContext context, INamedTypeSymbol type, ModuleSymbols symbols, bool isRoot)
        {
            foreach (var (field, _, _) in ModuleGraph.ChildFields(type, symbols))
                foreach (var a in field.GetAttributes())
                {
                    var attributeName = a.AttributeClass?.ToDisplayString();
                    string? given = null, how = null;
                    if (attributeName == RuntimeNames.ModuleNameAttribute && a.ConstructorArguments.Length == 1 && a.ConstructorArguments[0].Value is string s)
                        (given, how) = (s, "[ModuleName]");
                    else if (attributeName == RuntimeNames.LoraAttribute)
                        foreach (var arg in a.NamedArguments)
                            if (arg.Key == RuntimeNames.NameProperty && arg.Value.Value is string n) (given, how) = (n, "[Lora(Name)]");
                    if (given is null || SegmentProblem(given) is not { } problem) continue;
                    var where = a.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? field.Locations.FirstOrDefault() ?? Location.None;
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.BadModuleName, where,
                        $"{how} of '{field.Name}' is not a valid module-path segment: {problem}"));
                }

            if (!ModuleGraph.IsPartial(type, context.CancellationToken)) return;   // the generator adds nothing to it
            var reserved = isRoot
                ? new[] { RuntimeNames.ChildrenMember, RuntimeNames.AdapterSpecForMember, RuntimeNames.FacadeProperty, RuntimeNames.OptionsProperty, RuntimeNames.KeysClass }
                : new[] { RuntimeNames.ChildrenMember, RuntimeNames.AdapterSpecForMember };
            if (reserved.Contains(type.Name))
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.BadModuleName, type.Locations.FirstOrDefault() ?? Location.None,
                    $"Module type '{type.Name}' has the name of a member the generator adds to it (CS0542); rename the type"));
            foreach (var member in type.GetMembers())
            {
                if (member.IsImplicitlyDeclared || !reserved.Contains(member.Name) || member is IMethodSymbol || IsGenerated(member)) continue;
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.BadModuleName, member.Locations.FirstOrDefault() ?? Location.None,
                    $"'{type.Name}.{member.Name}' has the name of a member the generator adds to '{type.Name}'; rename it"));
            }
        }

        private static bool IsGenerated(ISymbol member) =>
            member.DeclaringSyntaxReferences.All(r => r.SyntaxTree.FilePath.EndsWith(".g.cs", System.StringComparison.OrdinalIgnoreCase));

        /// <summary>Why <paramref name="name"/> cannot be one segment of a dotted module path, or null when it can.</summary>
        internal static string? SegmentProblem(string name)
        {
            if (name.Length == 0) return "it is empty";
            foreach (char c in name)
            {
                if (c == '.') return "it contains '.', the path separator";
                if (char.IsWhiteSpace(c)) return "it contains whitespace";
                if (char.IsControl(c)) return "it contains a control character";
            }
            return null;
        }

        private static void Analyze(SymbolAnalysisContext context, ModuleSymbols? symbols, INamedTypeSymbol? rootAttribute, TorchSymbols? torch)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var ct = context.CancellationToken;
            var attribute = rootAttribute is null ? null : type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, rootAttribute));
            bool isModule = symbols is not null && symbols.IsModule(type);

            if (attribute is not null)
            {
                var where = attribute.ApplicationSyntaxReference?.GetSyntax(ct).GetLocation() ?? Location.None;
                // A TorchSharp root (torch.nn.Module) gets the TorchSharp facade; the module-tree rules below are the managed backend's.
                bool isTorch = torch is not null && torch.IsModule(type);
                if (!isModule && !isTorch) context.ReportDiagnostic(Diagnostic.Create(Descriptors.RootNotModule, where, type.Name, "does not derive from " + RuntimeNames.Module));
                else if (!ModuleGraph.IsPartial(type, ct))
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.RootNotModule, where, ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Type, type.Name), type.Name, "is not partial"));
                // The model-wide settings obey the same rules as a field's [Lora].
                SettingsChecks.Check(attribute, type.Name, context.ReportDiagnostic);
            }
            if (!isModule || symbols is null) return;

            // A partial module inside a non-partial type gets no generated code.
            if (ModuleGraph.IsPartial(type, ct) && ModuleGraph.FirstNonPartialContainer(type, ct) is { } outer)
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ContainingTypeNotPartial, type.Locations.FirstOrDefault(), type.Name, outer.Name));

            // LORA0021: a module that holds child modules but is not partial gets no Children(): its layers vanish.
            // ([Lora] fields are LORA0009 and a [LoraModel] root LORA0020 already; a hand-written Children() is the user's own listing.)
            if (type.TypeKind == TypeKind.Class && attribute is null && !ModuleGraph.IsPartial(type, ct)
                && !type.GetMembers(RuntimeNames.ChildrenMember).OfType<IMethodSymbol>().Any(m => m.Parameters.Length == 0 && !m.IsImplicitlyDeclared)
                && ModuleGraph.ChildFields(type, symbols).FirstOrDefault() is { Field: { } child }
                && !ModuleGraph.ChildFields(type, symbols).Any(f => f.Field.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == RuntimeNames.LoraAttribute)))
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.ModuleWithChildrenNotPartial, type.Locations.FirstOrDefault() ?? Location.None,
                    ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Type, type.Name), type.Name, child.Name));

            CheckNames(context, type, symbols, isRoot: attribute is not null);

            // Two children with the same path segment.
            var seen = new Dictionary<string, IFieldSymbol>();
            foreach (var (field, _, _) in ModuleGraph.ChildFields(type, symbols))
            {
                var segment = ModuleGraph.PathName(field);
                if (seen.TryGetValue(segment, out var first))
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.KeyCollision, field.Locations.FirstOrDefault(), first.Name, field.Name, type.Name, segment));
                else seen[segment] = field;
            }

            if (attribute is not null) AnalyzeRoot(context, type, attribute, symbols);
        }

        private static void AnalyzeRoot(SymbolAnalysisContext context, INamedTypeSymbol type, AttributeData attribute, ModuleSymbols symbols)
        {
            var spec = LoraModelSpec.Read(attribute);
            var fields = ModuleGraph.AdaptableFields(type, symbols, context.CancellationToken);
            var names = fields.Select(f => TargetMatching.LastSegment(f.PathTemplate)).Distinct().ToList();
            var candidates = string.Join(", ", names.Take(12));
            var fixes = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticProperties.Candidates,
                string.Join(DiagnosticProperties.CandidateSeparator.ToString(), names.Where(n => !spec.Targets.Contains(n)).Take(12)));
            if (candidates.Length == 0) candidates = "(no Linear or Embedding in the tree)";
            var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken) as AttributeSyntax;

            foreach (var target in spec.Targets)
            {
                if (!fields.Any(f => TargetMatching.Matches(f.PathTemplate, target)))
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.TargetMatchesNothing, LiteralLocation(syntax, RuntimeNames.TargetsProperty, target), fixes, target, type.Name, candidates));
            }
            foreach (var (property, integer) in new[] { (RuntimeNames.RankPatternProperty, true), (RuntimeNames.AlphaPatternProperty, false) })
            {
                foreach (var entry in LoraModelSpec.Strings(attribute.NamedArguments.FirstOrDefault(a => a.Key == property).Value))
                {
                    bool ok = LoraModelSpec.TryParsePattern(entry, out var parsed) && (integer ? IsValidRank(parsed.Value) : ConfigRules.Alpha(parsed.Value) is null);
                    if (!ok)
                        context.ReportDiagnostic(Diagnostic.Create(Descriptors.BadPattern, LiteralLocation(syntax, property, entry), entry, property, integer ? "positive integer rank" : "positive alpha"));
                    else if (!fields.Any(f => TargetMatching.Matches(f.PathTemplate, parsed.Name)))
                        context.ReportDiagnostic(Diagnostic.Create(Descriptors.TargetMatchesNothing, LiteralLocation(syntax, property, entry), parsed.Name, type.Name, candidates));
                }
            }
            // A layer selected by name that also carries [Lora] with other settings.
            foreach (var f in fields)
            {
                if (f.Lora is null) continue;
                var target = spec.Targets.FirstOrDefault(t => TargetMatching.Matches(f.PathTemplate, t));
                if (target is null) continue;
                var own = LoraSpec.Read(f.Lora);
                var d = spec.Defaults;
                if (own.Rank != d.Rank || own.Alpha != d.Alpha || own.Dropout != d.Dropout || own.UseRsLora != d.UseRsLora || own.UseDora != d.UseDora || own.Init != d.Init)
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.ConflictingSettings,
                        f.Lora.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? Location.None,
                        additionalLocations: f.Field.Locations, messageArgs: new object[] { f.PathTemplate, target }));
            }
        }

        /// <summary>LORA0022: <c>model.Lora</c> on a Module that has no such member because its class lacks <c>[LoraModel]</c>.</summary>
        private static void AnalyzeFacadeAccess(SyntaxNodeAnalysisContext context, ModuleSymbols symbols, INamedTypeSymbol rootAttribute)
        {
            var access = (MemberAccessExpressionSyntax)context.Node;
            if (access.Name.Identifier.ValueText != RuntimeNames.FacadeProperty) return;
            if (context.SemanticModel.GetSymbolInfo(access, context.CancellationToken).Symbol is not null) return;
            if (context.SemanticModel.GetTypeInfo(access.Expression, context.CancellationToken).Type is not INamedTypeSymbol type || !symbols.IsModule(type)) return;
            for (var t = type; t is not null; t = t.BaseType)
                if (t.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, rootAttribute))) return;
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.MissingLoraModel, access.Name.GetLocation(), type.Name));
        }

        /// <summary>A RankPattern value: a whole number that <see cref="ConfigRules.Rank"/> accepts.</summary>
        private static bool IsValidRank(double value) =>
            value == System.Math.Floor(value) && value <= int.MaxValue && value >= int.MinValue && ConfigRules.Rank((long)value) is null;

        /// <summary>The string literal <paramref name="value"/> inside the named argument, or the attribute.</summary>
        private static Location LiteralLocation(AttributeSyntax? syntax, string argument, string value)
        {
            if (syntax is null) return Location.None;
            var arg = syntax.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == argument);
            var literal = arg?.Expression.DescendantNodes().OfType<LiteralExpressionSyntax>().FirstOrDefault(l => l.Token.ValueText == value);
            return (literal ?? (SyntaxNode?)arg ?? syntax).GetLocation();
        }
    }
}
