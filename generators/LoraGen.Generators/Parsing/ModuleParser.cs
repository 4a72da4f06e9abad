using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using LoraGen.Contract;
using LoraGen.Generators.Model;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.Generators.Parsing
{
    /// <summary>Parse: turns symbols into the generator's equatable models. Decides what to generate, not how.</summary>
    internal static class ModuleParser
    {
        /// <summary>Cheap syntactic filter: a partial class with a base list.</summary>
        public static bool IsCandidate(SyntaxNode node) =>
            node is ClassDeclarationSyntax { BaseList: not null } c && c.Modifiers.Any(SyntaxKind.PartialKeyword);

        /// <summary>The model of a partial Module subclass, or null when it is not one or cannot be generated for.</summary>
        public static ModuleTypeModel? ParseModuleType(GeneratorSyntaxContext context, CancellationToken ct)
        {
            var decl = (ClassDeclarationSyntax)context.Node;
            if (context.SemanticModel.GetDeclaredSymbol(decl, ct) is not INamedTypeSymbol type) return null;
            var symbols = ModuleSymbols.From(context.SemanticModel.Compilation);
            if (symbols is null || !symbols.IsModule(type) || SymbolEqualityComparer.Default.Equals(type, symbols.Module)) return null;
            // One model per type, from its first declaration that has a base list (several partial files are fine).
            var first = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<ClassDeclarationSyntax>().FirstOrDefault(d => d.BaseList is not null);
            if (first != decl) return null;
            if (ModuleGraph.FirstNonPartialContainer(type, ct) is not null) return null;

            var children = new List<ChildModel>();
            foreach (var (field, shape, _) in ModuleGraph.ChildFields(type, symbols))
                children.Add(new ChildModel(field.Name, ModuleGraph.PathName(field), shape));

            bool userChildren = type.GetMembers(RuntimeNames.ChildrenMember).OfType<IMethodSymbol>().Any(m => m.Parameters.Length == 0 && !m.IsImplicitlyDeclared);
            bool userSpecFor = type.GetMembers(RuntimeNames.AdapterSpecForMember).OfType<IMethodSymbol>().Any();
            var baseType = type.BaseType;
            bool callBase = baseType is not null && !SymbolEqualityComparer.Default.Equals(baseType, symbols.Module);

            var containing = new List<TypeDecl>();
            for (var t = type.ContainingType; t is not null; t = t.ContainingType) containing.Insert(0, Decl(t));
            var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
            return new ModuleTypeModel(TypeKey(type), HintName(type), ns, new(containing.ToArray()), Decl(type),
                callBase, !userChildren, userSpecFor, new(children.ToArray()));
        }

        /// <summary>A [Lora] field on a Linear/Embedding (or an array/list of them) in a Module subclass; null otherwise.</summary>
        public static LoraFieldModel? ParseLoraField(GeneratorAttributeSyntaxContext context, CancellationToken ct)
        {
            if (context.TargetSymbol is not IFieldSymbol { IsStatic: false } field || context.Attributes.Length == 0) return null;
            var symbols = ModuleSymbols.From(context.SemanticModel.Compilation);
            if (symbols is null || !symbols.IsModule(field.ContainingType)) return null;
            var shape = symbols.ShapeOf(field.Type, out var element);
            if (shape == ChildShape.None || symbols.AdaptableKindOf(element) == AdaptableKind.None) return null;
            ct.ThrowIfCancellationRequested();
            return new LoraFieldModel(TypeKey(field.ContainingType), field.Name, ModuleGraph.PathName(field), shape, LoraSpec.Read(context.Attributes[0]));
        }

        /// <summary>The [LoraModel] root: its settings and the compile-time keys of every layer it adapts.</summary>
        public static RootModel? ParseRoot(GeneratorAttributeSyntaxContext context, CancellationToken ct)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.Length == 0) return null;
            var symbols = ModuleSymbols.From(context.SemanticModel.Compilation);
            if (symbols is null || !symbols.IsModule(type)) return null;
            var spec = LoraModelSpec.Read(context.Attributes[0]);
            var keys = new List<AdapterKeyModel>();
            var fields = ModuleGraph.AdaptableFields(type, symbols, ct).ToList();
            for (int i = 0; i < fields.Count; i++)
            {
                var f = fields[i];
                bool linear = f.Kind == AdaptableKind.Linear;
                bool head = TargetMatching.IsOutputHead(f.PathTemplate, linear, i == fields.Count - 1);
                bool adapted = f.Lora is not null || spec.Targets.Any(t => TargetMatching.Selects(t, f.PathTemplate, linear, head));
                if (adapted) keys.Add(new AdapterKeyModel(f.PathTemplate, f.Kind));
            }
            return new RootModel(TypeKey(type), spec, new(keys.ToArray()));
        }

        /// <summary>Joins a type with its [Lora] fields and root settings (inputs already collected).</summary>
        public static GenerationModel Combine(ModuleTypeModel type, EquatableArray<LoraFieldModel> fields, EquatableArray<RootModel> roots)
        {
            var mine = fields.Where(f => f.TypeKey == type.TypeKey).ToArray();
            RootModel? root = null;
            foreach (var r in roots) if (r.TypeKey == type.TypeKey) root = r;
            return new GenerationModel(type, new(mine), root);
        }

        internal static TypeDecl Decl(INamedTypeSymbol t)
        {
            string keyword = t.IsRecord ? (t.IsValueType ? "record struct" : "record")
                : t.TypeKind == TypeKind.Struct ? "struct"
                : t.TypeKind == TypeKind.Interface ? "interface"
                : "class";
            var name = t.Name;
            if (t.TypeParameters.Length > 0) name += "<" + string.Join(", ", t.TypeParameters.Select(p => p.Name)) + ">";
            return new TypeDecl(keyword, name);
        }

        internal static string TypeKey(INamedTypeSymbol t) => t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

        internal static string HintName(INamedTypeSymbol t)
        {
            var sb = new StringBuilder();
            if (t.ContainingNamespace is { IsGlobalNamespace: false } ns) sb.Append(ns.ToDisplayString()).Append('.');
            var chain = new List<INamedTypeSymbol>();
            for (var c = t; c is not null; c = c.ContainingType) chain.Insert(0, c);
            sb.Append(string.Join(".", chain.Select(c => c.TypeParameters.Length > 0 ? c.Name + "_" + c.TypeParameters.Length : c.Name)));
            return sb.Append(".Lora.g.cs").Replace("@", "").ToString();   // keyword names display as @class: not a file-name character
        }
    }
}
