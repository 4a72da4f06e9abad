using System.Linq;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace LoraGen.Analyzers
{
    /// <summary>
    /// The TorchSharp types the LORA01xx rules look for, resolved through <see cref="RuntimeNames"/>; <c>null</c> from
    /// <see cref="Create"/> when the compilation references neither TorchSharp nor the LoRA attributes.
    /// </summary>
    internal sealed class TorchSymbols
    {
        private TorchSymbols(INamedTypeSymbol module, INamedTypeSymbol? linear, INamedTypeSymbol? embedding, INamedTypeSymbol? moduleList,
            INamedTypeSymbol lora, INamedTypeSymbol? loraModel)
        {
            Module = module;
            Linear = linear;
            Embedding = embedding;
            ModuleList = moduleList;
            Lora = lora;
            LoraModel = loraModel;
        }

        /// <summary><c>torch.nn.Module</c>.</summary>
        public INamedTypeSymbol Module { get; }

        public INamedTypeSymbol? Linear { get; }

        public INamedTypeSymbol? Embedding { get; }

        public INamedTypeSymbol? ModuleList { get; }

        /// <summary><c>[Lora]</c>.</summary>
        public INamedTypeSymbol Lora { get; }

        /// <summary><c>[LoraModel]</c>.</summary>
        public INamedTypeSymbol? LoraModel { get; }

        public static TorchSymbols? Create(Compilation compilation)
        {
            var module = compilation.GetTypeByMetadataName(RuntimeNames.TorchModule);
            var lora = compilation.GetTypeByMetadataName(RuntimeNames.LoraAttribute);
            if (module is null || lora is null) return null;
            return new TorchSymbols(module, compilation.GetTypeByMetadataName(RuntimeNames.TorchLinear),
                compilation.GetTypeByMetadataName(RuntimeNames.TorchEmbedding), compilation.GetTypeByMetadataName(RuntimeNames.TorchModuleList),
                lora, compilation.GetTypeByMetadataName(RuntimeNames.LoraModelAttribute));
        }

        /// <summary>Whether <paramref name="type"/> is, or derives from, <c>torch.nn.Module</c>.</summary>
        public bool IsModule(ITypeSymbol? type)
        {
            for (var t = type; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, Module)) return true;
            return false;
        }

        /// <summary>Whether <paramref name="type"/> is TorchSharp's Linear or Embedding (or derives from one).</summary>
        public bool IsAdaptable(ITypeSymbol? type)
        {
            for (var t = type; t is not null; t = t.BaseType)
                if (SymbolEqualityComparer.Default.Equals(t, Linear) || SymbolEqualityComparer.Default.Equals(t, Embedding)) return true;
            return false;
        }

        /// <summary>A <c>[Lora]</c> field that holds a TorchSharp Linear/Embedding, or an array or ModuleList of them.</summary>
        public bool IsAdaptedField(IFieldSymbol field)
        {
            if (field.IsStatic || !field.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, Lora))) return false;
            var type = field.Type;
            if (type is IArrayTypeSymbol array) type = array.ElementType;
            else if (type is INamedTypeSymbol { IsGenericType: true } named && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, ModuleList))
                type = named.TypeArguments[0];
            return IsAdaptable(type);
        }

        /// <summary>The adapted field that <paramref name="operation"/> reads (the field itself, or one element of it), if any.</summary>
        public IFieldSymbol? AdaptedFieldOf(IOperation? operation)
        {
            var op = operation;
            while (true)
            {
                switch (op)
                {
                    case IConversionOperation conv: op = conv.Operand; continue;
                    case IParenthesizedOperation paren: op = paren.Operand; continue;
                    case IArrayElementReferenceOperation arr: op = arr.ArrayReference; continue;
                    case IPropertyReferenceOperation { Property.IsIndexer: true } indexer when indexer.Instance is not null: op = indexer.Instance; continue;
                    case IFieldReferenceOperation fieldRef: return IsAdaptedField(fieldRef.Field) ? fieldRef.Field : null;
                    default: return null;
                }
            }
        }
    }
}
