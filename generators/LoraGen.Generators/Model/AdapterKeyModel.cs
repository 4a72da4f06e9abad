using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>An adapted layer below a [LoraModel] root, whose PEFT keys are known at compile time.</summary>
    /// <param name="PathTemplate">The module path; <c>{0}</c>, <c>{1}</c>… stand for array/list indices.</param>
    /// <param name="Kind">Linear or Embedding (their keys differ).</param>
    internal readonly record struct AdapterKeyModel(string PathTemplate, AdaptableKind Kind);
}
