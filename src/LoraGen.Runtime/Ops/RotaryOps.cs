using LoraGen.Autograd;
using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>Rotary position embedding (RoPE) in the rotate-half convention, with its backward.</summary>
public static class RotaryOps
{
    /// <summary>
    /// x [B, H, T, D] rotated by position: for each pair (i, i + D/2) at position p = <paramref name="start"/> + t,
    /// y_i = x_i·cos − x_{i+D/2}·sin and y_{i+D/2} = x_{i+D/2}·cos + x_i·sin, with cos/sin read from tables
    /// [positions, D/2] (row p). The backward rotates the gradient by −angle.
    /// </summary>
    public static Tensor Rotary(this Tensor x, float[] cos, float[] sin, int start)
    {
        if (x.Rank != 4) throw new ArgumentException($"rotary: x must be [B, H, T, D], got {x.ShapeString}.");
        int rows = x.Dim(0) * x.Dim(1), t = x.Dim(2), d = x.Dim(3), half = d / 2;
        if (d % 2 != 0) throw new ArgumentException($"rotary: the head width {d} must be even.");
        if (start < 0 || (long)(start + t) * half > cos.Length || cos.Length != sin.Length)
            throw new ArgumentException($"rotary: positions {start}..{start + t - 1} exceed the tables ({cos.Length / Math.Max(1, half)} positions).");
        var y = Tensor.Output(x.shape);
        Rotate(x.Data, y.Data, cos, sin, rows, t, d, start, 1f);
        if (!GradMode.Needs(x)) return y;
        return Backprop.Record(y, "rotary", [x], g =>
        {
            var gx = x.GradZeroed();
            var tmp = new float[g.Size];
            Rotate(g.Data, tmp, cos, sin, rows, t, d, start, -1f);
            ElementwiseOps.AddInPlace(gx, tmp);
        });
    }

    /// <summary>dst = rotate(src) by sign·angle.</summary>
    private static void Rotate(ReadOnlySpan<float> src, Span<float> dst, float[] cos, float[] sin, int rows, int t, int d, int start, float sign)
    {
        int half = d / 2;
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < t; p++)
            {
                var xs = src.Slice((r * t + p) * d, d);
                var ys = dst.Slice((r * t + p) * d, d);
                var c = cos.AsSpan((start + p) * half, half);
                var s = sin.AsSpan((start + p) * half, half);
                for (int i = 0; i < half; i++)
                {
                    float a = xs[i], b = xs[i + half], si = sign * s[i];
                    ys[i] = a * c[i] - b * si;
                    ys[i + half] = b * c[i] + a * si;
                }
            }
    }
}
