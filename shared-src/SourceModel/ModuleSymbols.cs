using LoraGen.Contract;
using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>The runtime's module types as symbols of one compilation (null where the runtime is not referenced).</summary>
    internal sealed class ModuleSymbols
    {
        private ModuleSymbols(INamedTypeSymbol module, INamedTypeSymbol? linear, INamedTypeSymbol? embedding)
        {
            Module = module;
            Linear = linear;
            Embedding = embedding;
        }

        public INamedTypeSymbol Module { get; }

        public INamedTypeSymbol? Linear { get; }

        public INamedTypeSymbol? Embedding { get; }

        public static ModuleSymbols? From(Compilation compilation)
        {
            var module = compilation.GetTypeByMetadataName(RuntimeNames.Module);
            return module is null ? null : new ModuleSymbols(module,
                compilation.GetTypeByMetadataName(RuntimeNames.Linear), compilation.GetTypeByMetadataName(RuntimeNames.Embedding));
        }

        /// <summary>True for Module itself, its subclasses, and type parameters constrained to one.</summary>
        public bool IsModule(ITypeSymbol? type)
        {
            switch (type)
            {
                case ITypeParameterSymbol tp:
                    foreach (var c in tp.ConstraintTypes) if (IsModule(c)) return true;
                    return false;
                case INamedTypeSymbol named:
                    for (INamedTypeSymbol? t = named; t is not null; t = t.BaseType)
                        if (SymbolEqualityComparer.Default.Equals(t, Module)) return true;
                    return false;
                default:
                    return false;
            }
        }

        /// <summary>Linear or Embedding: a layer an adapter can attach to.</summary>
        public AdaptableKind AdaptableKindOf(ITypeSymbol? type)
        {
            if (type is null) return AdaptableKind.None;
            if (Linear is not null && SymbolEqualityComparer.Default.Equals(type, Linear)) return AdaptableKind.Linear;
            if (Embedding is not null && SymbolEqualityComparer.Default.Equals(type, Embedding)) return AdaptableKind.Embedding;
            return AdaptableKind.None;
        }

        /// <summary>
        /// How a field holds modules: one module, an array of them, or a list (List, IList, IReadOnlyList);
        /// <paramref name="element"/> is the module type.
        /// </summary>
        public ChildShape ShapeOf(ITypeSymbol type, out ITypeSymbol? element)
        {
            element = null;
            if (IsModule(type)) { element = type; return ChildShape.Single; }
            if (type is IArrayTypeSymbol { Rank: 1 } array && IsModule(array.ElementType)) { element = array.ElementType; return ChildShape.Array; }
            if (type is INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } generic && IsModule(generic.TypeArguments[0]))
            {
                var def = generic.OriginalDefinition.ToDisplayString();
                if (def is "System.Collections.Generic.List<T>" or "System.Collections.Generic.IList<T>" or "System.Collections.Generic.IReadOnlyList<T>")
                {
                    element = generic.TypeArguments[0];
                    return ChildShape.List;
                }
            }
            return ChildShape.None;
        }
    }
}
