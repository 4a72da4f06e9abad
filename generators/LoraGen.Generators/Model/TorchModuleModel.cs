using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>
    /// A partial TorchSharp module class: its declaration, its <c>[Lora]</c> fields (unless the user implements
    /// <c>LoraFields()</c>), and, for a <c>[LoraModel]</c> root, its settings and compile-time keys.
    /// </summary>
    internal readonly record struct TorchModuleModel(
        string HintName,
        string Namespace,
        EquatableArray<TypeDecl> Containing,
        TypeDecl Self,
        EquatableArray<TorchLoraFieldModel> Fields,
        LoraModelSpec? Root,
        EquatableArray<AdapterKeyModel> Keys);
}
