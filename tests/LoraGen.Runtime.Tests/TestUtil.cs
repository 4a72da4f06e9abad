using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>Fixture loading and tolerance checks shared by the runtime tests.</summary>
internal static class TestUtil
{
    private static readonly Lazy<SafetensorsFile> Ops = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ops.safetensors")));

    /// <summary>The PyTorch-made fixture file (see Fixtures/make_fixtures.py).</summary>
    public static SafetensorsFile OpsFixture => Ops.Value;

    public static Tensor Load(string key) => OpsFixture.LoadTensor(key);

    public static int[] LoadInts(string key) => Load(key).ToArray().Select(v => (int)v).ToArray();

    /// <summary>
    /// <paramref name="actual"/> (a frozen Linear with another base format) computes what <paramref name="expected"/>
    /// does on an input [batch, 3, in]: the same output and input gradient within 1e-5, and no gradient for its weight.
    /// </summary>
    public static void AssertFrozenLinearsAgree(Linear expected, Linear actual, Rng rng, int batch)
    {
        int inDim = expected.Weight.Dim(1), outDim = expected.Weight.Dim(0);
        var x = Tensor.Randn(rng, 1f, batch, 3, inDim);
        var x2 = x.Clone();
        x.RequiresGrad = x2.RequiresGrad = true;
        var g = Tensor.Randn(rng, 1f, batch, 3, outDim);
        var y1 = expected.Forward(x);
        var y2 = actual.Forward(x2);
        AssertClose(y1, y2, 1e-5f, "forward");
        y1.Backward(g.Clone());
        y2.Backward(g.Clone());
        AssertClose(x.Grad!, x2.Grad!, 1e-5f, "dX");
        Assert.Null(actual.Weight.Grad);
    }

    /// <summary>
    /// Asserts |actual − expected| ≤ rtol·|expected| + rtol·rms(expected) element-wise, i.e. relative error
    /// with an absolute floor at the tensor's own scale, and reports the worst element.
    /// </summary>
    public static void AssertClose(Tensor expected, Tensor actual, float rtol, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape {actual.ShapeString}, expected {expected.ShapeString}");
        var e = expected.Data;
        var a = actual.Data;
        double rms = 0;
        foreach (var v in e) rms += (double)v * v;
        rms = Math.Sqrt(rms / Math.Max(1, e.Length));
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double tol = rtol * Math.Abs(e[i]) + rtol * rms;
            double err = Math.Abs((double)a[i] - e[i]);
            if (double.IsNaN(a[i]) && !double.IsNaN(e[i])) err = double.PositiveInfinity;
            if (err > tol && err - tol > worstExcess) { worstExcess = err - tol; worst = i; }
        }
        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} is {a[worst]:G9}, expected {e[worst]:G9} (rtol {rtol}, rms {rms:G4})");
    }
}
