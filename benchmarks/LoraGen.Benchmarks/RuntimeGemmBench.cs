using System.Diagnostics;
using System.Globalization;
using LoraGen.Kernels;
using LoraGen.Tensors;

namespace LoraGen.Benchmarks;

/// <summary>
/// `runtime-gemm`: GFLOP/s of the managed GEMM at square sizes and at TinyGpt's Linear shapes, fp32 and over a bf16
/// weight (<see cref="Bf16Weight"/>) and an int8 one (<see cref="Int8Weight"/>: int8 dot products, activations
/// quantized per row, the quantization included in the time; <c>_int8w</c>: the same weight widened to fp32 instead, the
/// backward's alternative). Median of repeated calls; run it with LORAGEN_GEMM_AVX512=0 and =1 to compare
/// the two micro-kernels in the same session.
/// </summary>
public static class RuntimeGemmBench
{
    /// <summary>Prints one key=value line per shape.</summary>
    public static void Run()
    {
        Console.WriteLine($"avx512_kernel={Gemm.UsesAvx512} int8_vnni={Int8Gemm.UsesVnni}");
        (string Name, int M, int N, int K, bool TransB)[] shapes =
        [
            ("nn512", 512, 512, 512, false), ("nt1024", 1024, 1024, 1024, true),
            ("qkvo_fwd", 2048, 256, 256, true), ("fc_fwd", 2048, 1024, 256, true), ("proj_fwd", 2048, 256, 1024, true),
            ("fc_dx", 2048, 256, 1024, false),
        ];
        var rng = new Rng(1);
        foreach (var (name, m, n, k, transB) in shapes)
        {
            var a = new float[m * k];
            var w = new float[n * k];
            var c = new float[m * n];
            rng.FillNormal(a, 0, 1);
            rng.FillNormal(w, 0, 1);
            int ldb = transB ? k : n;
            var bf = transB ? new Bf16Weight(w, n, k) : new Bf16Weight(w, k, n);
            double fp32 = Time(() => Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, w, ldb, 0f, c, n), m, n, k);
            double bf16 = Time(() => Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, bf, 0f, c, n), m, n, k);
            var q8 = transB ? new Int8Weight(w, n, k) : new Int8Weight(w, k, n);
            double int8 = Time(() => Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, q8, 0f, c, n), m, n, k);
            double widened = double.NaN;
            if (!transB)
            {
                Int8Gemm.QuantizedBackward = false;
                widened = Time(() => Gemm.Sgemm(false, transB, m, n, k, 1f, a, k, q8, 0f, c, n), m, n, k);
                Int8Gemm.QuantizedBackward = true;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"gflops_{name}={fp32:F1} gflops_{name}_bf16={bf16:F1} gflops_{name}_int8={int8:F1}{(transB ? "" : $" gflops_{name}_int8w={widened:F1}")}"));
        }
    }

    private static double Time(Action gemm, int m, int n, int k)
    {
        for (int i = 0; i < 3; i++) gemm();
        var rates = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            gemm();
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            rates.Add(2.0 * m * n * k / s / 1e9);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }
}
