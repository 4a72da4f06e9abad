using LoraGen.Combine;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// PiSSA/OLoRA factors against PEFT's pissa_init/olora_init (fixture from PyTorch), the residual identity
/// W_res + s·BA = W, OLoRA's orthonormal Q, and the save-time conversion to plain LoRA (rank 2r, α doubled).
/// </summary>
public class ResidualFactorsTests
{
    private const int Out = 6, In = 8, Rank = 3;
    private const double Scaling = 6.0 / 3;   // α = 6, r = 3, as the fixture

    private static readonly Lazy<SafetensorsFile> Fixture = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "variants_init.safetensors")));

    private static float[] F(string key) => Fixture.Value.ReadFloats("init." + key);

    private static double[] W() => F("W").Select(v => (double)v).ToArray();

    /// <summary>B·A [out, in] in float64.</summary>
    private static double[] Product(float[] b, float[] a, int outDim, int inDim, int r)
    {
        var p = new double[outDim * inDim];
        for (int o = 0; o < outDim; o++)
            for (int i = 0; i < inDim; i++)
                for (int c = 0; c < r; c++) p[o * inDim + i] += (double)b[o * r + c] * a[c * inDim + i];
        return p;
    }

    private static (float[] A, float[] B) Factors(string method, double[] w) =>
        method == "pissa" ? ResidualFactors.Pissa(w, Out, In, Rank, Scaling) : ResidualFactors.Olora(w, Out, In, Rank);

    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    public void FactorsAndResidualMatchPeft(string method)
    {
        var w = W();
        var (a, b) = Factors(method, w);
        var ba = Product(b, a, Out, In, Rank);
        var expectBa = F($"{method}.BA");
        for (int k = 0; k < ba.Length; k++) Assert.Equal(expectBa[k], ba[k], 1e-5);
        var residual = ResidualFactors.Residual(w, a, b, Out, In, Rank, Scaling);
        var expectRes = F($"{method}.Wres");
        for (int k = 0; k < residual.Length; k++) Assert.Equal(expectRes[k], residual[k], 1e-5);
        var expectA = F($"{method}.A");
        for (int c = 0; c < Rank; c++)   // each row of A equals PyTorch's up to sign (the SVD/QR's sign is free)
        {
            int big = Enumerable.Range(c * In, In).MaxBy(i => Math.Abs(expectA[i]));
            float sign = MathF.Sign(a[big]) * MathF.Sign(expectA[big]);
            for (int i = 0; i < In; i++) Assert.Equal(expectA[c * In + i], sign * a[c * In + i], 1e-5f);
        }
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    public void ResidualPlusScaledProductIsTheOriginalWeight(string method)
    {
        var rnd = new Random(7);
        var w = Enumerable.Range(0, Out * In).Select(_ => rnd.NextDouble() - 0.5).ToArray();
        var (a, b) = Factors(method, w);
        var residual = ResidualFactors.Residual(w, a, b, Out, In, Rank, Scaling);
        var ba = Product(b, a, Out, In, Rank);
        for (int k = 0; k < w.Length; k++) Assert.Equal(w[k], residual[k] + Scaling * ba[k], 1e-5);
        Assert.True(Enumerable.Range(0, w.Length).Max(k => Math.Abs(residual[k] - w[k])) > 0.05, "the residual must differ from W");
    }

    [Fact]
    public void OloraBHasOrthonormalColumnsAndAIsUpperTriangular()
    {
        var (a, b) = ResidualFactors.Olora(W(), Out, In, Rank);
        for (int c = 0; c < Rank; c++)
            for (int d = 0; d < Rank; d++)
            {
                double dot = 0;
                for (int o = 0; o < Out; o++) dot += (double)b[o * Rank + c] * b[o * Rank + d];
                Assert.Equal(c == d ? 1.0 : 0.0, dot, 1e-6);
            }
        for (int c = 0; c < Rank; c++)
            for (int i = 0; i < c; i++) Assert.Equal(0f, a[c * In + i], 1e-6f);   // R[:r, :] is upper triangular
    }

    [Fact]
    public void PissaSplitsTheSingularValuesEvenlyBetweenAAndB()
    {
        // B = U·diag(√(S/s)), A = diag(√(S/s))·Vᵀ: column c of B and row c of A have the same norm √(S_c/s).
        var (a, b) = ResidualFactors.Pissa(W(), Out, In, Rank, Scaling);
        for (int c = 0; c < Rank; c++)
        {
            double nb = Math.Sqrt(Enumerable.Range(0, Out).Sum(o => (double)b[o * Rank + c] * b[o * Rank + c]));
            double na = Math.Sqrt(Enumerable.Range(0, In).Sum(i => (double)a[c * In + i] * a[c * In + i]));
            Assert.Equal(nb, na, 1e-5);
        }
    }

    [Theory]
    [InlineData(false, 12.0)]
    [InlineData(true, 6.0 * 1.4142135623730951)]
    public void ConversionToPlainLoraDoublesTheRankAndKeepsTheScaling(bool rsLora, double expectAlpha)
    {
        const double alpha = 6;
        double s = rsLora ? alpha / Math.Sqrt(Rank) : alpha / Rank;
        var w = W();
        var (a0, b0) = ResidualFactors.Pissa(w, Out, In, Rank, s);
        var residual = ResidualFactors.Residual(w, a0, b0, Out, In, Rank, s);
        // "Training" moves A and B away from their initial values.
        var rnd = new Random(3);
        var a = a0.Select(v => v + (float)(rnd.NextDouble() - 0.5) * 0.1f).ToArray();
        var b = b0.Select(v => v + (float)(rnd.NextDouble() - 0.5) * 0.1f).ToArray();
        var (pa, pb) = ResidualFactors.ToPlainLora(a, b, a0, b0, Out, In, Rank);
        Assert.Equal(2 * Rank * In, pa.Length);
        Assert.Equal(Out * 2 * Rank, pb.Length);
        double plainAlpha = ResidualFactors.PlainAlpha(alpha, rsLora);
        Assert.Equal(expectAlpha, plainAlpha, 1e-12);
        double plainS = rsLora ? plainAlpha / Math.Sqrt(2 * Rank) : plainAlpha / (2 * Rank);
        Assert.Equal(s, plainS, 1e-12);
        // The trained layer W_res + s·BA equals the original W + s'·B'A'.
        var trained = Product(b, a, Out, In, Rank);
        var plain = Product(pb, pa, Out, In, 2 * Rank);
        for (int k = 0; k < w.Length; k++) Assert.Equal(residual[k] + s * trained[k], w[k] + plainS * plain[k], 1e-5);
    }

    [Fact]
    public void ARankAboveMinOfTheShapeIsRefused()
    {
        Assert.Contains("rank", Assert.Throws<ArgumentException>(() => ResidualFactors.Olora(W(), Out, In, 7)).Message);
        Assert.Throws<ArgumentException>(() => ResidualFactors.Pissa(W(), Out, In, 0, Scaling));
        Assert.Throws<ArgumentException>(() => ResidualFactors.Pissa(new double[5], Out, In, Rank, Scaling));
    }
}
