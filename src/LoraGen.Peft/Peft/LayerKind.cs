namespace LoraGen.Peft;

/// <summary>The kind of layer an adapter attaches to; it fixes the adapter's key names and the shapes of A and B.</summary>
public enum LayerKind
{
    /// <summary>W [out, in]; A [r, in] (<c>lora_A.weight</c>), B [out, r] (<c>lora_B.weight</c>); ΔW = s·B·A.</summary>
    Linear,

    /// <summary>W [num_embeddings, dim]; A [r, num_embeddings] (<c>lora_embedding_A</c>), B [dim, r] (<c>lora_embedding_B</c>); ΔW = s·(B·A)ᵀ.</summary>
    Embedding,
}
