using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>A layer that can carry an adapter (Linear and Embedding): its base weight and its adapter slot.</summary>
public interface IAdaptableLayer
{
    /// <summary>Linear or Embedding: fixes the shapes of an adapter's matrices and their PEFT key names.</summary>
    LayerKind Kind { get; }

    /// <summary>The base weight adapters attach to (and merge into): Linear [out, in], Embedding [num_embeddings, dim].</summary>
    Tensor Weight { get; }

    /// <summary>The layer's bias, or null (Embedding has none).</summary>
    Tensor? Bias { get; }

    /// <summary>The adapter in the slot, or null: the layer's forward pass adds its contribution.</summary>
    ILayerAdapter? Adapter { get; set; }
}
