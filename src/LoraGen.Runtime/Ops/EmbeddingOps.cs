using LoraGen.Autograd;
using LoraGen.Tensors;
namespace LoraGen.Ops;

/// <summary>Row lookup in an embedding table, with scatter-add backward.</summary>
public static class EmbeddingOps
{
    /// <summary>
    /// Looks up rows of <paramref name="weight"/> [V, D] for the token ids <paramref name="ids"/> of shape
    /// <paramref name="idsShape"/>; the result has shape idsShape + [D].
    /// </summary>
    public static Tensor Embedding(Tensor weight, int[] ids, params int[] idsShape)
    {
        using var profile = OpProfiler.Forward("embedding");
        if (weight.Rank != 2) throw new ArgumentException($"embedding: weight must be 2-D [num_embeddings, dim], got {weight.ShapeString}.");
        if (Tensor.Product(idsShape) != ids.Length)
            throw new ArgumentException($"embedding: {ids.Length} ids do not fill shape {Tensor.Format(idsShape)}.");
        int vocab = weight.Dim(0), dim = weight.Dim(1);
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new IndexOutOfRangeException($"embedding: id {ids[i]} at position {i} is outside the table of {vocab} rows.");
        var y = Tensor.Output([.. idsShape, dim]);
        var ws = weight.Data;
        var ys = y.Data;
        for (int i = 0; i < ids.Length; i++) ws.Slice(ids[i] * dim, dim).CopyTo(ys.Slice(i * dim, dim));
        if (!GradMode.Needs(weight)) return y;
        return Backprop.Record(y, "embedding", [weight], g =>
        {
            var gw = weight.GradZeroed();
            var gs = g.Data;
            for (int i = 0; i < ids.Length; i++) ElementwiseOps.AddInPlace(gw.Slice(ids[i] * dim, dim), gs.Slice(i * dim, dim));
        });
    }
}
