using System.Globalization;
using LoraGen.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// <c>gemm-vs-torchsharp [--quick]</c>: fp32 C = A·B and C = A·Bᵀ at n = 256–2048, the managed GEMM
/// (<c>Gemm.Sgemm</c>)
/// against libtorch's <c>mm</c> through TorchSharp, in one process, both on all cores, the two sides alternating in
/// short blocks (a pause between them lets the other side's spinning workers sleep) so that machine noise hits both alike. Same input values on both sides; the managed output buffer is allocated
/// once, libtorch's comes from its caching allocator. Prints a table (median GFLOP/s) and one line <c>ratio gemm n=… ab=… abt=…</c> per size (LoraGen ÷ libtorch).
/// </summary>
public static class GemmVsTorchSharpBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the comparison.</summary>
    public static void Run(bool quick)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        Console.WriteLine($"gemm-vs-torchsharp: fp32, {Environment.ProcessorCount} threads each side (libtorch {torch.get_num_threads()}), TorchSharp {typeof(torch).Assembly.GetName().Version}, managed kernel AVX-512: {Gemm.UsesAvx512}; sides alternate in blocks; median GFLOP/s");
        Console.WriteLine("| n | layout | LoraGen GFLOP/s | libtorch GFLOP/s | LoraGen ÷ libtorch | max abs difference |");
        Console.WriteLine("|---|---|---|---|---|---|");
        using var noGrad = no_grad();
        var ratios = new List<string>();
        foreach (int n in new[] { 256, 512, 1024, 2048 })
        {
            int reps = Math.Max(quick ? 3 : 7, (quick ? 2_000_000_000L : 8_000_000_000L) / (2L * n * n * n) is var r && r > 60 ? 60 : (int)r);
            var rng = new Random(n);
            var a = new float[n * n];
            var b = new float[n * n];
            for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() - 0.5); b[i] = (float)(rng.NextDouble() - 0.5); }
            var c = new float[n * n];
            using var ta = torch.tensor(a, [n, n]);
            using var tb = torch.tensor(b, [n, n]);
            var line = new List<string>();
            foreach (bool transB in new[] { false, true })
            {
                using var tbl = transB ? tb.t() : tb.alias();
                void Ours() => Gemm.Sgemm(false, transB, n, n, n, 1f, a, n, b, n, 0f, c, n);
                void Theirs() => ta.mm(tbl).Dispose();
                // Warm up past the JIT's tiering (the managed kernel runs optimized code after ~30 calls) and libtorch's first calls.
                for (int i = 0; i < Math.Max(reps, 40); i++) { Ours(); Theirs(); }
                var (x, y) = AlternatingBlocks.Time(reps, Ours, Theirs);
                double flop = 2.0 * n * n * n;
                double gOurs = flop / TorchSharpBench.Median(x) / 1e9, gTheirs = flop / TorchSharpBench.Median(y) / 1e9;
                using var last = ta.mm(tbl);
                var theirs = last.data<float>().ToArray();
                float diff = 0;
                for (int i = 0; i < c.Length; i++) diff = Math.Max(diff, Math.Abs(c[i] - theirs[i]));
                string layout = transB ? "A·Bᵀ" : "A·B";
                Console.WriteLine($"| {n} | {layout} | {gOurs.ToString("F1", Inv)} | {gTheirs.ToString("F1", Inv)} | {(gOurs / gTheirs).ToString("F2", Inv)} | {diff.ToString("G3", Inv)} |");
                line.Add($"{(transB ? "abt" : "ab")}={(gOurs / gTheirs).ToString("F2", Inv)}");
            }
            ratios.Add($"ratio gemm n={n} {string.Join(' ', line)}");
        }
        foreach (var r in ratios) Console.WriteLine(r);
    }
}
