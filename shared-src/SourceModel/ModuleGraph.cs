using System.Collections.Generic;
using System.Linq;
using System.Threading;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace LoraGen.SourceModel
{
    /// <summary>
    /// Walks a module type's fields statically (what the generated Children() will yield at run time) to list every
    /// adaptable layer below it. Shared by the generator (compile-time keys) and the analyzers (target checks).
    /// </summary>
    internal static class ModuleGraph
    {
        private const int MaxDepth = 24;

        /// <summary>The name a field has in module paths: [ModuleName], else [Lora(Name)], else the field name.</summary>
        public static string PathName(IFieldSymbol field)
        {
            string? loraName = null;
            foreach (var a in field.GetAttributes())
            {
                var name = a.AttributeClass?.ToDisplayString();
                if (name == RuntimeNames.ModuleNameAttribute && a.ConstructorArguments.Length == 1 && a.ConstructorArguments[0].Value is string s && s.Length > 0) return s;
                if (name == RuntimeNames.LoraAttribute)
                    foreach (var arg in a.NamedArguments)
                        if (arg.Key == RuntimeNames.NameProperty && arg.Value.Value is string n && n.Length > 0) loraName = n;
            }
            return loraName ?? field.Name;
        }

        /// <summary>The instance fields of <paramref name="type"/> (and its base types up to Module) that hold child modules, in declaration order.</summary>
        public static IEnumerable<(IFieldSymbol Field, ChildShape Shape, ITypeSymbol Element)> ChildFields(INamedTypeSymbol type, ModuleSymbols symbols)
        {
            foreach (var member in type.GetMembers())
            {
                if (member is not IFieldSymbol { IsStatic: false, IsConst: false, IsImplicitlyDeclared: false } field) continue;
                var shape = symbols.ShapeOf(field.Type, out var element);
                if (shape != ChildShape.None) yield return (field, shape, element!);
            }
        }

        public static List<AdaptableField> AdaptableFields(INamedTypeSymbol root, ModuleSymbols symbols, CancellationToken ct)
        {
            var result = new List<AdaptableField>();
            Walk(root, "", 0, symbols, result, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), ct);
            return result;
        }

        private static void Walk(ITypeSymbol type, string prefix, int indexCount, ModuleSymbols symbols, List<AdaptableField> result, HashSet<ITypeSymbol> onPath, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (type is not INamedTypeSymbol named || onPath.Count > MaxDepth || !onPath.Add(type)) return;
            // Fields declared on this type and on its base types (below Module).
            for (INamedTypeSymbol? t = named; t is not null && !SymbolEqualityComparer.Default.Equals(t, symbols.Module); t = t.BaseType)
            {
                foreach (var (field, shape, element) in ChildFields(t, symbols))
                {
                    string path = prefix + PathName(field);
                    int indices = indexCount;
                    if (shape != ChildShape.Single) path += ".{" + indices++ + "}";
                    var kind = symbols.AdaptableKindOf(element);
                    if (kind != AdaptableKind.None)
                    {
                        AttributeData? lora = null;
                        foreach (var a in field.GetAttributes())
                            if (a.AttributeClass?.ToDisplayString() == RuntimeNames.LoraAttribute) lora = a;
                        result.Add(new AdaptableField(path, field, kind, lora));
                    }
                    else Walk(element, path + ".", indices, symbols, result, onPath, ct);
                }
            }
            onPath.Remove(type);
        }

        /// <summary>Whether any declaration of <paramref name="type"/> says <c>partial</c>.</summary>
        public static bool IsPartial(INamedTypeSymbol type, CancellationToken ct) =>
            type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<TypeDeclarationSyntax>()
                .Any(d => d.Modifiers.Any(SyntaxKind.PartialKeyword));

        /// <summary>
        /// The innermost enclosing type that is not partial, or null: generated members of a nested type can only be
        /// declared when every enclosing type is partial.
        /// </summary>
        public static INamedTypeSymbol? FirstNonPartialContainer(INamedTypeSymbol type, CancellationToken ct)
        {
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                if (!IsPartial(outer, ct)) return outer;
            return null;
        }
    }
}
