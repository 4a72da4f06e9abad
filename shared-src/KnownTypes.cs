using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>Metadata names of the LoraGen types that the generator and analyzers recognize.</summary>
    internal static class KnownTypes
    {
        public const string Module = "LoraGen.Nn.Module";
        public const string Linear = "LoraGen.Nn.Linear";
        public const string Embedding = "LoraGen.Nn.Embedding";
        public const string LoraAttribute = "LoraGen.LoraAttribute";
        public const string LoraModelAttribute = "LoraGen.LoraModelAttribute";
        public const string ModuleNameAttribute = "LoraGen.ModuleNameAttribute";
    }

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
            var module = compilation.GetTypeByMetadataName(KnownTypes.Module);
            return module is null ? null : new ModuleSymbols(module,
                compilation.GetTypeByMetadataName(KnownTypes.Linear), compilation.GetTypeByMetadataName(KnownTypes.Embedding));
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

    /// <summary>Which adaptable layer a field holds.</summary>
    internal enum AdaptableKind
    {
        None,
        Linear,
        Embedding,
    }

    /// <summary>How a field holds child modules.</summary>
    internal enum ChildShape
    {
        None,
        Single,
        Array,
        List,
    }
}
