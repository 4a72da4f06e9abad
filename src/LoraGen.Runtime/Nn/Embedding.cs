using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>
/// A lookup table W [num_embeddings, dim], initialized N(0, 1) as torch.nn.Embedding. With adapters,
/// <see cref="Forward"/> adds s·Aᵀ[ids]·Bᵀ (PEFT's lora_embedding_A [r, num], lora_embedding_B [dim, r]).
/// </summary>
public sealed class Embedding : Module, IAdaptableLayer
{
    /// <summary>Creates the layer.</summary>
    public Embedding(int numEmbeddings, int dim, Rng? rng = null)
    {
        if (numEmbeddings < 1 || dim < 1) throw new ArgumentException($"Embedding({numEmbeddings}, {dim}): sizes must be positive.");
        NumEmbeddings = numEmbeddings;
        Dim = dim;
        Weight = Init.NormalParameter(rng ?? Init.DefaultRng, 1f, numEmbeddings, dim);
    }

    /// <summary>Rows in the table.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Width of each row.</summary>
    public int Dim { get; }

    /// <summary>W [num_embeddings, dim].</summary>
    public Tensor Weight { get; }

    /// <inheritdoc />
    public LayerKind Kind => LayerKind.Embedding;

    /// <summary>Always null: an embedding has no bias.</summary>
    public Tensor? Bias => null;

    /// <inheritdoc />
    public ILayerAdapter? Adapter { get; set; }

    /// <summary>ids of shape <paramref name="idsShape"/> → idsShape + [dim].</summary>
    public Tensor Forward(int[] ids, params int[] idsShape)
    {
        var y = EmbeddingOps.Embedding(Weight, ids, idsShape);
        return Adapter is null ? y : Adapter.ForwardEmbedding(ids, idsShape, y);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> DirectParameters()
    {
        yield return ("weight", Weight);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Name, Tensor Parameter)> AdapterParameters() => Adapter?.NamedParameters() ?? [];

    /// <inheritdoc />
    public override string ToString() => $"Embedding({NumEmbeddings}, {Dim})";
}
