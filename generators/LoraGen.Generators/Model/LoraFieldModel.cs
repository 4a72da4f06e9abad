using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>A [Lora] field on an adaptable layer (the [Lora] pipeline).</summary>
    /// <param name="TypeKey">The declaring type's <see cref="ModuleTypeModel.TypeKey"/>.</param>
    /// <param name="FieldName">The C# field.</param>
    /// <param name="PathName">Its segment in module paths.</param>
    /// <param name="Shape">One layer, an array, or a list.</param>
    /// <param name="Spec">The attribute's values, defaults applied.</param>
    internal readonly record struct LoraFieldModel(string TypeKey, string FieldName, string PathName, ChildShape Shape, LoraSpec Spec);
}
