using LoraGen.Autograd;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Sums and means (whole tensor, last dimension).</summary>
public static class ReductionOps
{
    /// <summary>The sum of all elements, as a rank-0 tensor. Accumulates in double.</summary>
    public static Tensor Sum(this Tensor x)
    {
        using var profile = OpProfiler.Forward("sum");
        var y = Tensor.Scalar((float)SumDouble(x.Data));
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "sum", [x], g =>
        {
            var gx = x.GradZeroed();
            TensorPrimitives.Add(gx, g.Data[0], gx);
        });
    }

    /// <summary>The mean of all elements, as a rank-0 tensor. Accumulates in double.</summary>
    public static Tensor Mean(this Tensor x)
    {
        using var profile = OpProfiler.Forward("mean");
        if (x.Size == 0) throw new ArgumentException("mean: the tensor is empty.");
        var y = Tensor.Scalar((float)(SumDouble(x.Data) / x.Size));
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "mean", [x], g =>
        {
            var gx = x.GradZeroed();
            TensorPrimitives.Add(gx, g.Data[0] / x.Size, gx);
        });
    }

    /// <summary>Sums over the last dimension: [..., C] → [...].</summary>
    public static Tensor SumLastDim(this Tensor x)
    {
        using var profile = OpProfiler.Forward("sum_last");
        if (x.Rank == 0) throw new ArgumentException("sum: a rank-0 tensor has no last dimension.");
        int rows = x.Rows, cols = x.Cols;
        var y = Tensor.Output(x.shape[..^1]);
        var xs = x.Data;
        var ys = y.Data;
        for (int r = 0; r < rows; r++) ys[r] = TensorPrimitives.Sum(xs.Slice(r * cols, cols));
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "sum_last", [x], g =>
        {
            var gx = x.GradZeroed();
            var gs = g.Data;
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(gx.Slice(r * cols, cols), gs[r], gx.Slice(r * cols, cols));
        });
    }

    internal static double SumDouble(ReadOnlySpan<float> xs)
    {
        // Pairwise blocks: float SIMD sums within 1024-element blocks, double across blocks.
        double total = 0;
        for (int o = 0; o < xs.Length; o += 1024) total += TensorPrimitives.Sum(xs.Slice(o, Math.Min(1024, xs.Length - o)));
        return total;
    }
}
