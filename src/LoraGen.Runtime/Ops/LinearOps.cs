using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>The fused affine map y = x·Wᵀ + b (a frozen W gets no gradient buffer).</summary>
public static class LinearOps
{
    /// <summary>
    /// y = x · Wᵀ + b, fused. x [..., in], weight [out, in], bias [out] or null → y [..., out].
    /// Backward computes dX = dY · W, and dW = dYᵀ · X / db = Σ dY only when the weight / bias require grad:
    /// a frozen layer costs one GEMM backward instead of two.
    /// </summary>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias = null) => Linear(x, weight, bias, null);

    /// <summary>
    /// y = x · Wᵀ + b as <see cref="Linear(Tensor, Tensor, Tensor?)"/>, with the products over
    /// <paramref name="lowPrecision"/> — a low-precision copy of the frozen <paramref name="weight"/>, widened tile by
    /// tile inside the GEMM — when it is given. The weight must then be frozen (it gets no gradient).
    /// </summary>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias, ILowPrecisionWeight? lowPrecision)
    {
        using var profile = OpProfiler.Forward("linear");
        if (weight.Rank != 2 || x.Rank == 0 || x.Cols != weight.Dim(1))
            throw new ShapeMismatchException("linear", "x", x.shape, "weight", weight.shape,
                weight.Rank != 2 ? "weight must be 2-D [out_features, in_features]."
                : $"x's last dimension ({(x.Rank == 0 ? 0 : x.Cols)}) must equal weight's in_features ({weight.Dim(1)}).");
        int rows = x.Rows, inF = weight.Dim(1), outF = weight.Dim(0);
        if (bias is not null && (bias.Rank != 1 || bias.Size != outF))
            throw new ShapeMismatchException("linear", "weight", weight.shape, "bias", bias.shape, $"bias must be 1-D with out_features ({outF}) elements.");
        var y = Tensor.Output([.. x.shape[..^1], outF]);
        if (bias is not null)
        {
            // Broadcast the bias into y, then accumulate the product onto it: one pass over y fewer than adding after.
            var ys = y.Data;
            var bs = bias.Data;
            for (int r = 0; r < rows; r++) bs.CopyTo(ys.Slice(r * outF, outF));
        }
        if (lowPrecision is not null)
        {
            if (weight.RequiresGrad)
                throw new InvalidOperationException($"linear: a weight {weight.ShapeString} used through a low-precision copy must be frozen (RequiresGrad = false).");
            Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Data, inF, lowPrecision, bias is null ? 0f : 1f, y.Data, outF);
        }
        else Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Data, inF, weight.Data, inF, bias is null ? 0f : 1f, y.Data, outF);
        if (!GradMode.Needs(x, weight, bias)) return y;
        // The backward holds x's gradient slot (its vertex) and reads x's values only for dW: a frozen layer does not
        // keep its input alive (saved, for GraphMemory: dX needs only W; dW needs x).
        var xv = x.Vertex;
        var xSaved = weight.RequiresGrad ? x : null;
        return Backprop.Record(y, "linear", bias is null ? [x, weight] : [x, weight, bias], g =>
        {
            if (xv.RequiresGrad)
            {
                var gx = xv.GradBuffer(out bool fresh);
                if (lowPrecision is not null)   // dX = dY · W over the same low-precision W as the forward
                    Gemm.Sgemm(false, false, rows, inF, outF, 1f, g.Data, outF, lowPrecision, fresh ? 0f : 1f, gx.Data, inF);
                else Gemm.Sgemm(false, false, rows, inF, outF, 1f, g.Data, outF, weight.Data, inF, fresh ? 0f : 1f, gx.Data, inF);
            }
            if (xSaved is not null)   // weight.RequiresGrad at forward time
            {
                var gw = weight.GradBuffer(out bool fresh);
                Gemm.Sgemm(true, false, outF, inF, rows, 1f, g.Data, outF, xSaved.Data, inF, fresh ? 0f : 1f, gw.Data, inF);
            }
            if (bias?.RequiresGrad == true)
            {
                var gb = bias.GradZeroed();
                var gs = g.Data;
                for (int r = 0; r < rows; r++) TensorPrimitives.Add(gb, gs.Slice(r * outF, outF), gb);
            }
        }, xSaved is null ? [weight] : [xSaved, weight]);
    }
}
