using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>A <c>[Lora]</c> field on a TorchSharp Linear/Embedding: its name and compile-time settings.</summary>
    internal readonly record struct TorchLoraFieldModel(string FieldName, LoraSpec Spec);
}
