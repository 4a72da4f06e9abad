using LoraGen.Kernels;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// The few-row path (<see cref="Gemv"/>, taken by <see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int, bool)"/>
/// for m ≤ 4) against the packed GEMM and a double-precision reference, for both layouts of B that Linear uses.
/// </summary>
public class GemvTests
{
    public static TheoryData<int, int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (int m in new[] { 1, 2, 3, 4, 5 })
            foreach (int[] nk in new[] { new[] { 1, 1 }, new[] { 7, 17 }, new[] { 17, 7 }, new[] { 33, 577 }, new[] { 577, 33 }, new[] { 1537, 577 } })
                foreach (bool tb in new[] { false, true })
                    data.Add(m, nk[0], nk[1], tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesPackedGemmAndReference(int m, int n, int k, bool transB)
    {
        var rng = new Rng((ulong)(m * 1000 + n * 7 + k * 3 + (transB ? 1 : 0)));
        int lda = k + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
        var a = new float[m * lda];
        var b = new float[(transB ? n : k) * ldb];
        var c = new float[m * ldc];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(b, 0, 1);
        rng.FillNormal(c, 0, 1);
        // The same A stored transposed ([k, m]) sends the product through the packed micro-kernel path.
        var aT = new float[k * m];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) aT[p * m + i] = a[i * lda + p];
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.75f, -0.5f), (1f, 1f) })
        {
            foreach (var parallel in new[] { false, true })
            {
                var fast = (float[])c.Clone();
                Gemm.Sgemm(false, transB, m, n, k, alpha, a, lda, b, ldb, beta, fast, ldc, parallel);
                var packed = (float[])c.Clone();
                Gemm.Sgemm(true, transB, m, n, k, alpha, aT, m, b, ldb, beta, packed, ldc, parallel);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0, mag = 0;
                        for (int p = 0; p < k; p++)
                        {
                            double t = (double)a[i * lda + p] * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                            s += t;
                            mag += Math.Abs(t);
                        }
                        double e = alpha * s + beta * c[i * ldc + j];
                        // Relative to the magnitude of the terms summed (cancellation makes |e| itself a poor scale).
                        double tol = 1e-5 * (Math.Abs(alpha) * mag + Math.Abs(beta * c[i * ldc + j])) + 1e-6;
                        float got = fast[i * ldc + j], gemm = packed[i * ldc + j];
                        string where = $"C[{i},{j}] m={m} n={n} k={k} transB={transB} alpha={alpha} beta={beta} parallel={parallel}";
                        Assert.True(Math.Abs(got - e) <= tol, $"{where}: {got}, reference {e}");
                        Assert.True(Math.Abs(got - gemm) <= 2 * tol, $"{where}: {got}, packed GEMM {gemm}");
                    }
                    // Padding between rows of C is untouched.
                    for (int j = n; j < ldc && i * ldc + j < fast.Length; j++) Assert.Equal(c[i * ldc + j], fast[i * ldc + j]);
                }
            }
        }
    }

    [Fact]
    public void BetaZeroIgnoresGarbageInC()
    {
        // With beta = 0 the old C (NaN here) must not leak into the result, in both layouts.
        foreach (bool transB in new[] { false, true })
        {
            int m = 2, n = 9, k = 5;
            var a = new float[m * k];
            var b = new float[n * k];
            for (int i = 0; i < a.Length; i++) a[i] = i % 3 - 1;
            for (int i = 0; i < b.Length; i++) b[i] = i % 5 - 2;
            var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, b, transB ? k : n, 0f, c, n);
            Assert.All(c, v => Assert.False(float.IsNaN(v)));
        }
    }

    [Fact]
    public void DotMatchesScalarSumAcrossTails()
    {
        var rng = new Rng(5);
        foreach (int k in new[] { 0, 1, 7, 8, 15, 16, 31, 33, 63, 64, 65, 577 })
        {
            var x = new float[k];
            var y = new float[k];
            rng.FillNormal(x, 0, 1);
            rng.FillNormal(y, 0, 1);
            double e = 0, mag = 0;
            for (int p = 0; p < k; p++) { e += (double)x[p] * y[p]; mag += Math.Abs((double)x[p] * y[p]); }
            float got;
            unsafe
            {
                fixed (float* px = x, py = y) got = Gemv.Dot(px, py, k);
            }
            Assert.True(Math.Abs(got - e) <= 1e-5 * mag + 1e-7, $"k={k}: {got}, expected {e}");
        }
    }
}
