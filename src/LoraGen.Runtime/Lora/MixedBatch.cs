using LoraGen.Autograd;
using LoraGen.Contract;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// Mixed-adapter batches (PEFT's <c>adapter_names=</c>; the S-LoRA/Punica serving case): one batch through one base
/// layer, each row (index of the first dimension) through its own adapter, without merging. The base output is
/// computed once for the whole batch; each adapter's contribution only for its own rows, gathered into a contiguous
/// block and scattered back. Rows marked "__base__" keep the base output. Inference only: no dropout, no gradients.
/// </summary>
internal static class MixedBatch
{
    /// <summary>Linear: y [B, ..., out] for x [B, ..., in], row b through adapter <paramref name="rows"/>[b].</summary>
    public static Tensor Linear(LoraLayer layer, string[] rows, Tensor x, Tensor y, bool training)
    {
        Check(layer, rows, x.Rank == 0 ? 0 : x.Dim(0), training);
        using var _ = GradMode.NoGrad();
        var result = y.Detach().Clone();
        ForEachAdapter(layer, rows, (ad, picked) =>
        {
            var xs = Gather(x, picked);                                                             // [n, ..., in]
            var delta = ad.Magnitude is null
                ? xs.Linear(ad.A).Scale(ad.Scaling).Linear(ad.B)
                : Dora.LinearContribution(layer.Weight, layer.DeltaOf(ad.A, ad.B, ad.Config.Rank, ad.Scaling), xs, ad);
            var ys = Gather(result, picked) + delta;                                                // [n, ..., out]
            Scatter(ys, result, picked);
        });
        return result;
    }

    /// <summary>Embedding: y [B, ..., dim] for ids of shape [B, ...], row b through adapter <paramref name="rows"/>[b].</summary>
    public static Tensor Embedding(LoraLayer layer, string[] rows, int[] ids, int[] idsShape, Tensor y)
    {
        Check(layer, rows, idsShape.Length == 0 ? 0 : idsShape[0], training: false);
        using var _ = GradMode.NoGrad();
        var result = y.Detach().Clone();
        int perRow = ids.Length / idsShape[0];
        ForEachAdapter(layer, rows, (ad, picked) =>
        {
            var subIds = new int[picked.Count * perRow];
            for (int k = 0; k < picked.Count; k++) Array.Copy(ids, picked[k] * perRow, subIds, k * perRow, perRow);
            int[] subShape = [picked.Count, .. idsShape[1..]];
            var e = EmbeddingOps.Embedding(ad.A.Transpose(0, 1), subIds, subShape).Scale(ad.Scaling).Linear(ad.B);   // [n, ..., dim]
            var ys = Gather(result, picked);
            ys = ad.Magnitude is null ? ys + e : Dora.EmbeddingOutput(layer.Weight, layer.DeltaOf(ad.A, ad.B, ad.Config.Rank, ad.Scaling), ys, e, ad);
            Scatter(ys, result, picked);
        });
        return result;
    }

    private static void Check(LoraLayer layer, string[] rows, int batch, bool training)
    {
        if (training) throw new InvalidOperationException($"{layer.LayerName}: mixed-adapter batches are for inference; call Eval() first (PEFT refuses them in training too).");
        if (rows.Length != batch) throw new ArgumentException($"{layer.LayerName}: {rows.Length} adapter names for a batch of {batch} rows.");
        if (layer.IsMerged) throw new InvalidOperationException($"{layer.LayerName}: adapter(s) {string.Join(", ", layer.MergedAdapters)} are merged; Unmerge() before a mixed-adapter batch.");
    }

    /// <summary>Calls <paramref name="body"/> once per adapter named in <paramref name="rows"/>, with the rows it serves.</summary>
    private static void ForEachAdapter(LoraLayer layer, string[] rows, Action<LoraAdapter, List<int>> body)
    {
        foreach (var group in Enumerable.Range(0, rows.Length).GroupBy(i => rows[i]))
        {
            if (group.Key == PeftKeys.BaseAdapterName || layer.Disabled) continue;
            if (!layer.Adapters.TryGetValue(group.Key, out var ad)) continue;   // the model checked the name; this layer lacks the adapter
            body(ad, group.ToList());
        }
    }

    /// <summary>The rows <paramref name="picked"/> of t [B, ...] as a new [n, ...] tensor.</summary>
    private static Tensor Gather(Tensor t, List<int> picked)
    {
        int per = t.Size / t.Dim(0);
        var shape = t.Shape.ToArray();
        shape[0] = picked.Count;
        var result = Tensor.Output(shape);
        for (int k = 0; k < picked.Count; k++) t.Data.Slice(picked[k] * per, per).CopyTo(result.Data.Slice(k * per, per));
        return result;
    }

    private static void Scatter(Tensor rows, Tensor into, List<int> picked)
    {
        int per = rows.Size / picked.Count;
        for (int k = 0; k < picked.Count; k++) rows.Data.Slice(k * per, per).CopyTo(into.Data.Slice(picked[k] * per, per));
    }
}
