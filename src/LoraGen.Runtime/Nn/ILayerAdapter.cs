using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>
/// What sits in an <see cref="IAdaptableLayer"/>'s slot: a contribution added to the layer's base output, and the
/// parameters it owns. LoRA implements it (<c>LoraGen.Lora.LoraLayer</c>); the layers know nothing more of it.
/// </summary>
public interface ILayerAdapter
{
    /// <summary>Linear: given input x [..., in] and base output y [..., out], the adapted output.</summary>
    Tensor ForwardLinear(Tensor x, Tensor y, bool training);

    /// <summary>Embedding: given ids of shape <paramref name="idsShape"/> and base output y [..., dim], the adapted output.</summary>
    Tensor ForwardEmbedding(int[] ids, int[] idsShape, Tensor y);

    /// <summary>The adapter's parameters, named as inside the layer's state dict (e.g. <c>lora_A.default.weight</c>).</summary>
    IEnumerable<(string Name, Tensor Parameter)> NamedParameters();

    /// <summary>Whether the adapter is folded into the layer's base weight (the base weight then is not the base model's).</summary>
    bool IsMerged => false;

    /// <summary>
    /// The layer's base weight was just replaced (loaded from a file): it no longer holds a merged contribution, so
    /// the adapter forgets any merge (it contributes in the forward pass again).
    /// </summary>
    void BaseWeightReplaced() { }
}
