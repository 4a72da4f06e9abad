using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using MTensor = LoraGen.Tensors.Tensor;

namespace LoraGen.TorchSharp.Tests;

/// <summary>Moves tensors between the managed runtime and libtorch, and compares them.</summary>
internal static class Referee
{
    /// <summary>A libtorch copy of a managed tensor, float64 by default (the reference precision).</summary>
    public static Tensor ToTorch(MTensor t, ScalarType dtype = ScalarType.Float64, bool requiresGrad = false)
    {
        using var f32 = torch.tensor(t.ToArray(), t.Shape.ToArray().Select(d => (long)d).ToArray());
        var result = f32.to(dtype, copy: true);
        if (requiresGrad) result.requires_grad_(true);
        return result;
    }

    /// <summary>The values of a libtorch tensor as float64, row-major.</summary>
    public static double[] Values(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float64).contiguous();
        return d.data<double>().ToArray();
    }

    /// <summary>The values of a libtorch tensor as float32, row-major.</summary>
    public static float[] Floats(Tensor t)
    {
        using var d = t.detach().to(ScalarType.Float32).contiguous();
        return d.data<float>().ToArray();
    }

    /// <summary>
    /// Asserts |actual − expected| ≤ rtol·|expected| + rtol·rms(expected) element-wise (relative error with an
    /// absolute floor at the tensor's own scale, as the runtime's PyTorch-fixture tests), reporting the worst element.
    /// </summary>
    public static void AssertClose(Tensor expected, MTensor actual, double rtol, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.Shape.ToArray().Select(d => (long)d)),
            $"{what}: shape {actual.ShapeString}, expected [{string.Join(", ", expected.shape)}]");
        AssertClose(Values(expected), actual.ToArray().Select(v => (double)v).ToArray(), rtol, what);
    }

    /// <summary>The same check on two libtorch tensors.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol, string what)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        AssertClose(Values(expected), Values(actual), rtol, what);
    }

    /// <summary>The same check on raw values.</summary>
    public static void AssertClose(double[] e, double[] a, double rtol, string what)
    {
        Assert.Equal(e.Length, a.Length);
        double rms = Math.Sqrt(e.Sum(v => v * v) / Math.Max(1, e.Length));
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double tol = rtol * Math.Abs(e[i]) + rtol * rms;
            double err = Math.Abs(a[i] - e[i]);
            if (double.IsNaN(a[i]) != double.IsNaN(e[i])) err = double.PositiveInfinity;
            if (err > tol && err - tol > worstExcess) { worstExcess = err - tol; worst = i; }
        }
        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} is {a[worst]:G9}, expected {e[worst]:G9} (rtol {rtol}, rms {rms:G4})");
    }

    /// <summary>The largest |a − b| over two libtorch tensors.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        var x = Values(a);
        var y = Values(b);
        Assert.Equal(x.Length, y.Length);
        double m = 0;
        for (int i = 0; i < x.Length; i++) m = Math.Max(m, Math.Abs(x[i] - y[i]));
        return m;
    }
}
