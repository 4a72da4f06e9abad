using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Loss functions: fused log-softmax + negative log-likelihood (cross-entropy) with an ignore index.</summary>
public static class LossOps
{
    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> [..., C] against class <paramref name="targets"/>
    /// (one per row), fused with log-softmax. Rows whose target is <paramref name="ignoreIndex"/> do not count.
    /// As torch.nn.functional.cross_entropy with reduction "mean".
    /// </summary>
    public static Tensor CrossEntropy(this Tensor logits, int[] targets, int ignoreIndex = -100)
    {
        using var profile = OpProfiler.Forward("cross_entropy");
        int rows = logits.Rows, cols = logits.Cols;
        if (targets.Length != rows)
            throw new ArgumentException($"cross_entropy: {targets.Length} targets for {rows} rows of logits {logits.ShapeString}.");
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t == ignoreIndex) continue;
            if ((uint)t >= (uint)cols) throw new IndexOutOfRangeException($"cross_entropy: target {t} at row {r} is outside [0, {cols}).");
            counted++;
        }
        var lse = new float[rows];
        var rowLoss = new double[rows];
        Par.Rows(rows, cols * 3, (lo, hi) =>
        {
            var scratch = new float[cols];
            for (int r = lo; r < hi; r++)
            {
                if (targets[r] == ignoreIndex) continue;
                var xs = logits.Data.Slice(r * cols, cols);
                lse[r] = SoftmaxOps.LogSumExp(xs, scratch);
                rowLoss[r] = lse[r] - xs[targets[r]];
            }
        });
        double total = 0;
        foreach (var l in rowLoss) total += l;
        // Like PyTorch, the mean over zero counted rows is NaN.
        var y = Tensor.Scalar(counted == 0 ? float.NaN : (float)(total / counted));
        if (!GradMode.Needs(logits)) return y;
        return Backprop.Record(y, "cross_entropy", [logits], g =>
        {
            float scale = g.Data[0] / counted;
            logits.GradZeroed();
            Par.Rows(rows, cols * 3, (lo, hi) =>
            {
                var p = new float[cols];
                for (int r = lo; r < hi; r++)
                {
                    if (targets[r] == ignoreIndex) continue;
                    var xs = logits.Data.Slice(r * cols, cols);
                    var gx = logits.Grad!.Data.Slice(r * cols, cols);
                    // d/dx = (softmax(x) − onehot(t)) · g / counted
                    TensorPrimitives.Subtract(xs, lse[r], p);
                    TensorPrimitives.Exp(p, p);
                    p[targets[r]] -= 1f;
                    TensorPrimitives.MultiplyAdd(p, scale, gx, gx);
                }
            });
        });
    }
}
