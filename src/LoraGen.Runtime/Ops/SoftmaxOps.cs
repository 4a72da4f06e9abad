using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Softmax and log-softmax over the last dimension, and the row kernels other ops reuse.</summary>
public static class SoftmaxOps
{
    /// <summary>Softmax over the last dimension.</summary>
    public static Tensor Softmax(this Tensor x)
    {
        using var profile = OpProfiler.Forward("softmax");
        int rows = x.Rows, cols = x.Cols;
        var y = Tensor.Output(x.shape);
        Par.Rows(rows, cols * 4, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++) SoftmaxRow(x.Data.Slice(r * cols, cols), y.Data.Slice(r * cols, cols));
        });
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "softmax", [x], g =>
        {
            x.GradZeroed();
            Par.Rows(rows, cols * 3, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++)
                {
                    var ys = y.Data.Slice(r * cols, cols);
                    var gs = g.Data.Slice(r * cols, cols);
                    var gx = x.Grad!.Data.Slice(r * cols, cols);
                    // dx = y ⊙ (g − Σ g⊙y)
                    float dot = TensorPrimitives.Dot(gs, ys);
                    for (int i = 0; i < cols; i++) gx[i] += ys[i] * (gs[i] - dot);
                }
            });
        });
    }

    /// <summary>Log-softmax over the last dimension.</summary>
    public static Tensor LogSoftmax(this Tensor x)
    {
        using var profile = OpProfiler.Forward("log_softmax");
        int rows = x.Rows, cols = x.Cols;
        var y = Tensor.Output(x.shape);
        Par.Rows(rows, cols * 4, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                var xs = x.Data.Slice(r * cols, cols);
                float lse = LogSumExp(xs, y.Data.Slice(r * cols, cols));
                TensorPrimitives.Subtract(xs, lse, y.Data.Slice(r * cols, cols));
            }
        });
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "log_softmax", [x], g =>
        {
            x.GradZeroed();
            Par.Rows(rows, cols * 3, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++)
                {
                    var ys = y.Data.Slice(r * cols, cols);
                    var gs = g.Data.Slice(r * cols, cols);
                    var gx = x.Grad!.Data.Slice(r * cols, cols);
                    // dx = g − exp(y) Σ g
                    float sum = TensorPrimitives.Sum(gs);
                    for (int i = 0; i < cols; i++) gx[i] += gs[i] - MathF.Exp(ys[i]) * sum;
                }
            });
        });
    }

    /// <summary>y = softmax(x) for one row (y may alias x).</summary>
    internal static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max)) { y.Clear(); return; }   // fully masked row
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        float sum = TensorPrimitives.Sum(y);
        TensorPrimitives.Multiply(y, 1f / sum, y);
    }

    /// <summary>log Σ exp(x), computed stably; <paramref name="scratch"/> receives exp(x − max).</summary>
    internal static float LogSumExp(ReadOnlySpan<float> x, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        return max + MathF.Log(TensorPrimitives.Sum(scratch));
    }
}
