using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>The [LoraModel] root (the root pipeline).</summary>
    /// <param name="TypeKey">The root's <see cref="ModuleTypeModel.TypeKey"/>.</param>
    /// <param name="Spec">The attribute's values.</param>
    /// <param name="Keys">Every layer the root adapts, in module-tree order.</param>
    internal readonly record struct RootModel(string TypeKey, LoraModelSpec Spec, EquatableArray<AdapterKeyModel> Keys);
}
