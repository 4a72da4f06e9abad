using System.Collections.Generic;
using System.Linq;
using System.Threading;
using LoraGen.Contract;
using LoraGen.Generators.Model;
using LoraGen.SourceModel;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.Generators.Parsing
{
    /// <summary>
    /// Parse for the TorchSharp backend: partial subclasses of TorchSharp's <c>torch.nn.Module</c> with <c>[Lora]</c>
    /// fields on <c>TorchSharp.Modules.Linear</c>/<c>Embedding</c>, or marked <c>[LoraModel]</c>. TorchSharp registers
    /// the module tree itself (<c>RegisterComponents()</c>, by field name; <c>ModuleList</c> indexed), so only the LoRA
    /// wiring is generated.
    /// </summary>
    internal static class TorchModuleParser
    {
        private const int MaxDepth = 24;

        /// <summary>The model of a partial TorchSharp module class that gets code, or null.</summary>
        public static TorchModuleModel? Parse(GeneratorSyntaxContext context, CancellationToken ct)
        {
            var decl = (ClassDeclarationSyntax)context.Node;
            var compilation = context.SemanticModel.Compilation;
            var module = compilation.GetTypeByMetadataName(RuntimeNames.TorchModule);
            if (module is null || context.SemanticModel.GetDeclaredSymbol(decl, ct) is not INamedTypeSymbol type || !DerivesFrom(type, module)) return null;
            var first = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<ClassDeclarationSyntax>().FirstOrDefault(d => d.BaseList is not null);
            if (first != decl || ModuleGraph.FirstNonPartialContainer(type, ct) is not null) return null;
            var symbols = TorchSymbols.From(compilation, module);

            bool userFields = type.GetMembers(RuntimeNames.TorchLoraFieldsMember).OfType<IMethodSymbol>().Any();
            var fields = new List<TorchLoraFieldModel>();
            if (!userFields)
                foreach (var (field, lora) in LoraFieldsOf(type, symbols))
                    fields.Add(new TorchLoraFieldModel(field.Name, LoraSpec.Read(lora)));

            LoraModelSpec? root = null;
            var keys = new List<AdapterKeyModel>();
            var rootAttribute = type.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == RuntimeNames.LoraModelAttribute);
            if (rootAttribute is not null)
            {
                var spec = LoraModelSpec.Read(rootAttribute);
                root = spec;
                Walk(type, "", 0, symbols, spec, keys, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), ct);
            }
            if (fields.Count == 0 && root is null) return null;

            var containing = new List<TypeDecl>();
            for (var t = type.ContainingType; t is not null; t = t.ContainingType) containing.Insert(0, ModuleParser.Decl(t));
            var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
            return new TorchModuleModel(ModuleParser.HintName(type), ns, new(containing.ToArray()), ModuleParser.Decl(type),
                new(fields.ToArray()), root, new(keys.ToArray()));
        }

        private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol module)
        {
            for (var t = type.BaseType; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, module)) return true;
            return false;
        }

        /// <summary>The instance fields declared on <paramref name="type"/> typed Linear/Embedding with a <c>[Lora]</c> attribute.</summary>
        private static IEnumerable<(IFieldSymbol Field, AttributeData Lora)> LoraFieldsOf(INamedTypeSymbol type, TorchSymbols symbols)
        {
            foreach (var member in type.GetMembers())
            {
                if (member is not IFieldSymbol { IsStatic: false, IsConst: false, IsImplicitlyDeclared: false } field) continue;
                if (symbols.KindOf(field.Type) == AdaptableKind.None) continue;
                var lora = field.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == RuntimeNames.LoraAttribute);
                if (lora is not null) yield return (field, lora);
            }
        }

        /// <summary>The static module tree as TorchSharp registers it: field names, <c>ModuleList</c> items as <c>{i}</c>; adapted layers → keys.</summary>
        private static void Walk(ITypeSymbol type, string prefix, int indexCount, TorchSymbols symbols, LoraModelSpec spec,
            List<AdapterKeyModel> keys, HashSet<ITypeSymbol> onPath, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (type is not INamedTypeSymbol named || onPath.Count > MaxDepth || !onPath.Add(type)) return;
            var chain = new List<INamedTypeSymbol>();
            for (INamedTypeSymbol? t = named; t is not null && !SymbolEqualityComparer.Default.Equals(t, symbols.Module) && t.ContainingAssembly?.Name != "TorchSharp"; t = t.BaseType)
                chain.Insert(0, t);
            foreach (var t in chain)
            {
                foreach (var member in t.GetMembers())
                {
                    if (member is not IFieldSymbol { IsStatic: false, IsConst: false, IsImplicitlyDeclared: false } field) continue;
                    var element = field.Type;
                    string path = prefix + field.Name;
                    int indices = indexCount;
                    if (symbols.IsModuleList(element, out var item))
                    {
                        element = item;
                        path += ".{" + indices++ + "}";
                    }
                    var kind = symbols.KindOf(element);
                    if (kind != AdaptableKind.None)
                    {
                        bool lora = field.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == RuntimeNames.LoraAttribute);
                        if (lora || spec.Targets.Any(x => TargetMatching.Matches(path, x))) keys.Add(new AdapterKeyModel(path, kind));
                    }
                    else if (symbols.IsModule(element)) Walk(element, path + ".", indices, symbols, spec, keys, onPath, ct);
                }
            }
            onPath.Remove(type);
        }

        /// <summary>TorchSharp's module, layer and container symbols in one compilation.</summary>
        private sealed class TorchSymbols
        {
            private TorchSymbols(INamedTypeSymbol module, INamedTypeSymbol? linear, INamedTypeSymbol? embedding, INamedTypeSymbol? moduleList)
            {
                Module = module;
                Linear = linear;
                Embedding = embedding;
                ModuleList = moduleList;
            }

            public INamedTypeSymbol Module { get; }

            private INamedTypeSymbol? Linear { get; }

            private INamedTypeSymbol? Embedding { get; }

            private INamedTypeSymbol? ModuleList { get; }

            public static TorchSymbols From(Compilation c, INamedTypeSymbol module) =>
                new(module, c.GetTypeByMetadataName(RuntimeNames.TorchLinear), c.GetTypeByMetadataName(RuntimeNames.TorchEmbedding),
                    c.GetTypeByMetadataName(RuntimeNames.TorchModuleList));

            public AdaptableKind KindOf(ITypeSymbol type) =>
                SymbolEqualityComparer.Default.Equals(type, Linear) ? AdaptableKind.Linear
                : SymbolEqualityComparer.Default.Equals(type, Embedding) ? AdaptableKind.Embedding
                : AdaptableKind.None;

            public bool IsModule(ITypeSymbol type)
            {
                for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
                    if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, Module)) return true;
                return false;
            }

            public bool IsModuleList(ITypeSymbol type, out ITypeSymbol item)
            {
                item = type;
                if (type is INamedTypeSymbol { IsGenericType: true } g && SymbolEqualityComparer.Default.Equals(g.OriginalDefinition, ModuleList))
                {
                    item = g.TypeArguments[0];
                    return true;
                }
                return false;
            }
        }
    }
}
