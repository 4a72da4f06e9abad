using LoraGen.Autograd;
using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>Grouped-query attention's key/value sharing: each key/value head serves <c>groups</c> query heads.</summary>
public static class GroupedQueryOps
{
    /// <summary>
    /// x [B, Hkv, T, D] → [B, Hkv·groups, T, D], head j of the result being head j / groups of x (PyTorch's
    /// repeat_interleave on dim 1). The backward sums each group's gradients into its source head.
    /// </summary>
    public static Tensor RepeatKvHeads(this Tensor x, int groups)
    {
        if (x.Rank != 4) throw new ArgumentException($"repeat_kv: x must be [B, Hkv, T, D], got {x.ShapeString}.");
        if (groups < 1) throw new ArgumentException($"repeat_kv: groups must be positive, got {groups}.");
        if (groups == 1) return x;
        int b = x.Dim(0), hkv = x.Dim(1), block = x.Dim(2) * x.Dim(3);
        var y = Tensor.Output(b, hkv * groups, x.Dim(2), x.Dim(3));
        for (int i = 0; i < b * hkv; i++)
        {
            var src = x.Data.Slice(i * block, block);
            for (int g = 0; g < groups; g++) src.CopyTo(y.Data.Slice((i * groups + g) * block, block));
        }
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "repeat_kv", [x], g =>
        {
            var gx = x.GradZeroed();
            for (int i = 0; i < b * hkv; i++)
                for (int r = 0; r < groups; r++)
                    ElementwiseOps.AddInPlace(gx.Slice(i * block, block), g.Data.Slice((i * groups + r) * block, block));
        });
    }
}
