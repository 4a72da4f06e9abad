using LoraGen.Kernels;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>The managed SGEMM against a naive double-precision reference, across shapes that cross every block edge.</summary>
public class GemmTests
{
    public static TheoryData<int, int, int, bool, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool, bool>();
        int[][] sizes = [[1, 1, 1], [5, 7, 3], [6, 16, 9], [13, 33, 17], [97, 20, 260], [7, 1600, 30], [200, 130, 513], [577, 40, 33],
            // the few-row single-hand-off split (m ≤ 2·MC) with k past a K block, odd widths, a transposed-pack tail
            [65, 256, 260], [131, 67, 263], [192, 100, 19]];
        foreach (var s in sizes)
            foreach (var ta in new[] { false, true })
                foreach (var tb in new[] { false, true })
                    data.Add(s[0], s[1], s[2], ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesNaiveReference(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Rng((ulong)(m * 31 + n * 7 + k));
        // Leading dimensions larger than the logical width, to exercise strides.
        int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
        var a = new float[(transA ? k : m) * lda];
        var b = new float[(transB ? n : k) * ldb];
        var c = new float[m * ldc];
        rng.FillNormal(a, 0, 1);
        rng.FillNormal(b, 0, 1);
        rng.FillNormal(c, 0, 1);
        var expected = (float[])c.Clone();
        const float alpha = 0.75f, beta = -0.5f;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                expected[i * ldc + j] = (float)(alpha * s + beta * c[i * ldc + j]);
            }
        foreach (var parallel in new[] { false, true })
        {
            var actual = (float[])c.Clone();
            Gemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc, parallel);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    float e = expected[i * ldc + j], got = actual[i * ldc + j];
                    Assert.True(Math.Abs(e - got) <= 1e-4f * Math.Sqrt(k) + 1e-5f * Math.Abs(e),
                        $"C[{i},{j}] = {got}, expected {e} (m={m} n={n} k={k} transA={transA} transB={transB} parallel={parallel})");
                }
                // Padding between rows of C must be untouched.
                for (int j = n; j < ldc && i * ldc + j < actual.Length; j++) Assert.Equal(c[i * ldc + j], actual[i * ldc + j]);
            }
        }
    }

    [Fact]
    public void BetaZeroIgnoresNaNInOutput()
    {
        var a = new float[] { 1, 2, 3, 4 };
        var b = new float[] { 1, 0, 0, 1 };
        var c = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Sgemm(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
        Assert.Equal(a, c);
    }

    [Fact]
    public void RejectsBuffersTooSmall()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4));
        Assert.Contains("A (4×4, lda 4)", ex.Message);
    }
}
