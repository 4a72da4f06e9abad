using LoraGen.SourceModel;

namespace LoraGen.Generators
{
    // Pipeline models: strings, numbers and equatable arrays only — never symbols, syntax, locations or
    // compilations — so every step can be cached and compared.

    /// <summary>A type declaration in the chain that encloses generated members: keyword and name with type parameters.</summary>
    internal readonly record struct TypeDecl(string Keyword, string Name);

    /// <summary>A field that holds child modules.</summary>
    /// <param name="FieldName">The C# field.</param>
    /// <param name="PathName">Its segment in module paths.</param>
    /// <param name="Shape">One module, an array, or a list.</param>
    internal readonly record struct ChildModel(string FieldName, string PathName, ChildShape Shape);

    /// <summary>What the generator knows about one partial Module subclass (the structural pipeline).</summary>
    internal readonly record struct ModuleTypeModel(
        string TypeKey,
        string HintName,
        string Namespace,
        EquatableArray<TypeDecl> Containing,
        TypeDecl Self,
        bool CallBaseChildren,
        bool EmitChildren,
        bool UserDefinesSpecFor,
        EquatableArray<ChildModel> Children);

    /// <summary>A [Lora] field on an adaptable layer (the [Lora] pipeline).</summary>
    internal readonly record struct LoraFieldModel(string TypeKey, string FieldName, string PathName, ChildShape Shape, LoraSpec Spec);

    /// <summary>A PEFT key pair of an adapted layer, known at compile time ({0}… stand for indices).</summary>
    internal readonly record struct AdapterKeyModel(string PathTemplate, AdaptableKind Kind);

    /// <summary>The [LoraModel] root (the root pipeline).</summary>
    internal readonly record struct RootModel(string TypeKey, LoraModelSpec Spec, EquatableArray<AdapterKeyModel> Keys);

    /// <summary>Everything emitted for one type: its structure, its [Lora] fields, and its root facade if any.</summary>
    internal readonly record struct GenerationModel(ModuleTypeModel Type, EquatableArray<LoraFieldModel> LoraFields, RootModel? Root);
}
