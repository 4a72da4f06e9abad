using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LoraGen.Kernels;

/// <summary>
/// GELU with the tanh approximation in one SIMD pass: 0.5·x·(1 + tanh(u)) with u = √(2/π)(x + 0.044715x³) is
/// x·σ(2u) (σ the logistic function), so each element costs one exp and one division. 512-bit vectors where the CPU
/// has them, 256-bit otherwise, scalar for the tail.
/// </summary>
internal static class GeluTanhKernel
{
    private const float C2 = 2f * 0.7978845608028654f;   // 2√(2/π)
    private const float C2K = C2 * 0.044715f;

    /// <summary>y = x·σ(2u).</summary>
    internal static void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var s = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-(v * (Vector512.Create(C2) + Vector512.Create(C2K) * v * v))));
                (v * s).StoreUnsafe(ref yr, (nuint)i);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var s = Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-(v * (Vector256.Create(C2) + Vector256.Create(C2K) * v * v))));
                (v * s).StoreUnsafe(ref yr, (nuint)i);
            }
        for (; i < n; i++) y[i] = x[i] * Sigmoid2U(x[i]);
    }

    /// <summary>
    /// gx = g · dy/dx (or gx += … when <paramref name="accumulate"/>), with dy/dx = σ + x·σ(1 − σ)·2√(2/π)(1 + 3·0.044715x²).
    /// </summary>
    internal static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> gx, bool accumulate)
    {
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float dr = ref MemoryMarshal.GetReference(gx);
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var v2 = v * v;
                var s = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-(v * (Vector512.Create(C2) + Vector512.Create(C2K) * v2))));
                var d = s + v * s * (Vector512<float>.One - s) * (Vector512.Create(C2) + Vector512.Create(3f * C2K) * v2);
                var r = Vector512.LoadUnsafe(ref gr, (nuint)i) * d;
                if (accumulate) r += Vector512.LoadUnsafe(ref dr, (nuint)i);
                r.StoreUnsafe(ref dr, (nuint)i);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var v2 = v * v;
                var s = Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-(v * (Vector256.Create(C2) + Vector256.Create(C2K) * v2))));
                var d = s + v * s * (Vector256<float>.One - s) * (Vector256.Create(C2) + Vector256.Create(3f * C2K) * v2);
                var r = Vector256.LoadUnsafe(ref gr, (nuint)i) * d;
                if (accumulate) r += Vector256.LoadUnsafe(ref dr, (nuint)i);
                r.StoreUnsafe(ref dr, (nuint)i);
            }
        for (; i < n; i++)
        {
            float v = x[i], s = Sigmoid2U(v);
            float d = s + v * s * (1f - s) * (C2 + 3f * C2K * v * v);
            gx[i] = accumulate ? gx[i] + g[i] * d : g[i] * d;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sigmoid2U(float x) => 1f / (1f + MathF.Exp(-(x * (C2 + C2K * x * x))));
}
