using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>Everything emitted for one type: its structure, its [Lora] fields, and its root facade if any.</summary>
    internal readonly record struct GenerationModel(ModuleTypeModel Type, EquatableArray<LoraFieldModel> LoraFields, RootModel? Root);
}
