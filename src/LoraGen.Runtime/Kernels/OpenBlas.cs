using System.Runtime.InteropServices;

namespace LoraGen.Kernels;

/// <summary>
/// Optional sgemm provider: OpenBLAS's <c>cblas_sgemm</c>, loaded from <c>libopenblas.so.0</c> when the
/// environment variable <c>LORAGEN_BLAS=openblas</c> is set and the library loads. The managed kernel in
/// <see cref="Gemm"/> stays the default and works everywhere.
/// </summary>
public static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;

    static OpenBlas()
    {
        var choice = Environment.GetEnvironmentVariable("LORAGEN_BLAS");
        if (!string.Equals(choice, "openblas", StringComparison.OrdinalIgnoreCase)) return;
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
        {
            if (NativeLibrary.TryLoad(name, out var handle) && NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var fn))
            {
                _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)fn;
                return;
            }
        }
    }

    /// <summary>True when OpenBLAS was requested and loaded.</summary>
    public static bool IsEnabled => _sgemm != null;

    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc) =>
        _sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
