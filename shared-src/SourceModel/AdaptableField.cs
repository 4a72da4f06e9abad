using Microsoft.CodeAnalysis;

namespace LoraGen.SourceModel
{
    /// <summary>
    /// One Linear/Embedding field found by a static walk of a model's module tree. It holds symbols, so it is a
    /// working value of one analysis or parse step, never a pipeline model.
    /// </summary>
    /// <param name="PathTemplate">Dotted path with "{0}", "{1}"… standing for array/list indices, e.g. <c>h.{0}.attn.q_proj</c>.</param>
    /// <param name="Field">The field.</param>
    /// <param name="Kind">Linear or Embedding.</param>
    /// <param name="Lora">The field's <c>[Lora]</c> attribute, if any.</param>
    internal sealed record AdaptableField(string PathTemplate, IFieldSymbol Field, AdaptableKind Kind, AttributeData? Lora);
}
