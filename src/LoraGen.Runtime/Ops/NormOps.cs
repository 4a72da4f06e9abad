using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Ops;

/// <summary>Layer normalization and RMS normalization over the last dimension.</summary>
public static class NormOps
{
    /// <summary>
    /// Layer normalization over the last dimension: y = (x − mean) / √(var + eps) · weight + bias,
    /// with the biased variance, as torch.nn.functional.layer_norm. x [..., C], weight [C], bias [C] or null.
    /// </summary>
    public static Tensor LayerNorm(this Tensor x, Tensor weight, Tensor? bias, float eps = 1e-5f)
    {
        using var profile = OpProfiler.Forward("layer_norm");
        int rows = x.Rows, cols = x.Cols;
        CheckNormParam("layer_norm", x, weight, "weight");
        if (bias is not null) CheckNormParam("layer_norm", x, bias, "bias");
        var y = Tensor.Output(x.shape);
        var mean = new float[rows];
        var rstd = new float[rows];
        Par.Rows(rows, cols * 3, (lo, hi) =>
        {
            var w = weight.Data;
            for (int r = lo; r < hi; r++)
            {
                var xs = x.Data.Slice(r * cols, cols);
                var ys = y.Data.Slice(r * cols, cols);
                float m = TensorPrimitives.Sum(xs) / cols;
                TensorPrimitives.Subtract(xs, m, ys);
                float v = TensorPrimitives.Dot(ys, ys) / cols;
                float rs = 1f / MathF.Sqrt(v + eps);
                mean[r] = m; rstd[r] = rs;
                TensorPrimitives.Multiply(ys, rs, ys);
                if (bias is null) TensorPrimitives.Multiply(ys, w, ys);
                else TensorPrimitives.FusedMultiplyAdd(ys, w, bias.Data, ys);
            }
        });
        if (!GradMode.Needs(x, weight, bias)) return y;
        return RecordNorm(y, "layer_norm", x, weight, bias, mean, rstd);
    }

    /// <summary>RMS normalization over the last dimension: y = x / √(mean(x²) + eps) · weight.</summary>
    public static Tensor RmsNorm(this Tensor x, Tensor weight, float eps = 1e-6f)
    {
        using var profile = OpProfiler.Forward("rms_norm");
        int rows = x.Rows, cols = x.Cols;
        CheckNormParam("rms_norm", x, weight, "weight");
        var y = Tensor.Output(x.shape);
        var rstd = new float[rows];
        Par.Rows(rows, cols * 3, (lo, hi) =>
        {
            for (int r = lo; r < hi; r++)
            {
                var xs = x.Data.Slice(r * cols, cols);
                float rs = 1f / MathF.Sqrt(TensorPrimitives.Dot(xs, xs) / cols + eps);
                rstd[r] = rs;
                var ys = y.Data.Slice(r * cols, cols);
                TensorPrimitives.Multiply(xs, rs, ys);
                TensorPrimitives.Multiply(ys, weight.Data, ys);
            }
        });
        if (!GradMode.Needs(x, weight)) return y;
        return RecordNorm(y, "rms_norm", x, weight, null, null, rstd);
    }

    /// <summary>
    /// A norm's backward (reads x, the statistics and the parameters), recorded apart from the forward: C# lambdas of
    /// one method share their captures, and the forward's row lambda captures y, which the backward does not need.
    /// </summary>
    private static Tensor RecordNorm(Tensor y, string op, Tensor x, Tensor weight, Tensor? bias, float[]? mean, float[] rstd) =>
        Backprop.Record(y, op, bias is null ? [x, weight] : [x, weight, bias], g =>
            NormBackward(x, weight, bias, g, mean, rstd, subtractMean: mean is not null));

    private static void CheckNormParam(string op, Tensor x, Tensor p, string name)
    {
        if (p.Rank != 1 || x.Rank == 0 || p.Size != x.Cols)
            throw new ShapeMismatchException(op, "x", x.shape, name, p.shape, $"{name} must be 1-D with x's last dimension ({(x.Rank == 0 ? 0 : x.Cols)}).");
    }

    /// <summary>
    /// Shared backward of layer norm and RMS norm. With x̂ = (x − mean)·rstd (mean = 0 for RMS norm) and
    /// d = g ⊙ w: dx = rstd · (d − mean(d) − x̂ · mean(d ⊙ x̂)) (the mean(d) term only for layer norm);
    /// dw += Σ g ⊙ x̂; db += Σ g.
    /// </summary>
    private static void NormBackward(Tensor x, Tensor weight, Tensor? bias, Tensor g, float[]? mean, float[] rstd, bool subtractMean)
    {
        int rows = x.Rows, cols = x.Cols;
        bool needX = x.RequiresGrad, needW = weight.RequiresGrad, needB = bias?.RequiresGrad ?? false;
        bool freshX = false;
        if (needX) x.GradBuffer(out freshX);
        // Per-thread partial sums for dw/db, reduced after the parallel region.
        int parts = Math.Min(Par.Threads, Math.Max(1, rows));
        var dwParts = new float[parts][];
        var dbParts = new float[parts][];
        int next = -1;
        Par.Rows(rows, cols * 6, (lo, hi) =>
        {
            int part = Interlocked.Increment(ref next);
            var dw = dwParts[part] = new float[cols];
            var db = dbParts[part] = new float[cols];
            var xhat = new float[cols];
            var d = new float[cols];
            var w = weight.Data;
            for (int r = lo; r < hi; r++)
            {
                var xs = x.Data.Slice(r * cols, cols);
                var gs = g.Data.Slice(r * cols, cols);
                float rs = rstd[r];
                if (subtractMean) TensorPrimitives.Subtract(xs, mean![r], xhat);
                else xs.CopyTo(xhat);
                TensorPrimitives.Multiply(xhat, rs, xhat);
                if (needW) TensorPrimitives.FusedMultiplyAdd(gs, xhat, dw, dw);
                if (needB) TensorPrimitives.Add(db, gs, db);
                if (!needX) continue;
                TensorPrimitives.Multiply(gs, w, d);
                float meanD = subtractMean ? TensorPrimitives.Sum(d) / cols : 0f;
                float meanDX = TensorPrimitives.Dot(d, xhat) / cols;
                // dx = rstd · (d − mean(d) − x̂ · mean(d ⊙ x̂)), written into d, then stored or added
                var gx = x.Grad!.Data.Slice(r * cols, cols);
                TensorPrimitives.MultiplyAdd(xhat, -meanDX, d, d);
                TensorPrimitives.Add(d, -meanD, d);
                if (freshX) TensorPrimitives.Multiply(d, rs, gx);
                else TensorPrimitives.MultiplyAdd(d, rs, gx, gx);
            }
        });
        for (int p = 0; p <= next; p++)
        {
            if (needW) ElementwiseOps.AddInPlace(weight.GradZeroed(), dwParts[p]);
            if (needB) ElementwiseOps.AddInPlace(bias!.GradZeroed(), dbParts[p]);
        }
    }
}
