using System.Diagnostics;
using System.Globalization;
using LoraGen.Plotting;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// <c>tinygpt-scale [--quick]</c>: the <c>tinygpt-vs-torchsharp</c> comparison (managed sample model against the
/// hand-written TorchSharp peer, same weights file, each side and mode in its own child process) at d 512 / 768 and
/// T 512 / 1024 — 4 layers, heads of 64, 2,048 tokens per step (batch 4 at T 512, 2 at T 1024) — LoRA and full
/// fine-tune steps, one warm-up and 2 timed steps (1 with --quick) per side. Prints a table and a <c>scale-ratio</c>
/// line per shape, and draws benchmarks/scale-time.svg and benchmarks/scale-memory.svg. <c>--shapes d:t,d:t…</c>
/// runs other shapes (same tokens per step; plots then go to the temp folder, so the committed ones stay).
/// </summary>
public static class ScaleBench
{
    private const int Tokens = 2048;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The shapes, smallest first.</summary>
    public static IReadOnlyList<BenchShape> Shapes { get; } =
        [.. from t in new[] { 512, 1024 } from d in new[] { 512, 768 } select new BenchShape(d, d / 64, t, Tokens / t)];

    /// <summary>Runs every shape on both sides and writes the plots into <paramref name="outDir"/>.</summary>
    public static void Compare(string outDir, bool quick, string? shapes = null)
    {
        var run = Shapes;
        if (shapes is not null)
        {
            run = [.. shapes.Split(',').Select(p => p.Split(':')).Select(p => (D: int.Parse(p[0], Inv), T: int.Parse(p[1], Inv)))
                .Select(p => new BenchShape(p.D, Math.Max(1, p.D / 64), p.T, Math.Max(1, Tokens / p.T)))];
            outDir = Path.GetTempPath();
        }
        int steps = quick ? 1 : 2;
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"TinyGpt at scale: vocab 96, 4 layers, heads of 64, {Tokens} tokens per step, AdamW, LoRA r 8 / alpha 16 on q and v; {Environment.ProcessorCount} threads, float32");
        Console.WriteLine($"LoraGen managed (samples/TinyGpt.Lora) vs the hand-written TorchSharp peer, each side and mode in its own child process, 1 warm-up + {steps} timed step(s), median; sides alternate which goes first");
        var rows = new List<(BenchShape Shape, Dictionary<string, double> Ours, Dictionary<string, double> Peer)>();
        foreach (var (shape, n) in run.Select((s, i) => (s, i)))
        {
            using var weights = WeightsFile.Create(shape.ManagedConfig);
            var ours = new Dictionary<string, double>();
            var peer = new Dictionary<string, double>();
            var losses = new Dictionary<string, string>();
            foreach (var mode in new[] { "lora", "full" })
            {
                var order = n % 2 == 0 ? new[] { "loragen", "torchsharp" } : ["torchsharp", "loragen"];
                foreach (var side in order)
                {
                    foreach (var (k, v) in TorchSharpBench.Child(side, mode, weights.Path, quick, $"{shape.Argument} --steps {steps}"))
                    {
                        if (k == "first_loss") losses[$"{side}.{mode}"] = v;
                        else if (k is "step_ms" or "peak_rss_mb" && double.TryParse(v, Inv, out var d)) (side == "loragen" ? ours : peer)[$"{mode}.{k}"] = d;
                    }
                }
            }
            rows.Add((shape, ours, peer));
            string agree = string.Join(", ", new[] { "lora", "full" }.Select(m =>
                double.TryParse(losses.GetValueOrDefault($"loragen.{m}"), Inv, out var a) && double.TryParse(losses.GetValueOrDefault($"torchsharp.{m}"), Inv, out var b)
                    ? $"{m} {Math.Abs(a - b):0.0e0}" : $"{m} n/a"));
            Console.WriteLine($"d {shape.Dim}, T {shape.Context}, batch {shape.Batch}: LoRA step {Get(ours, "lora.step_ms")} / {Get(peer, "lora.step_ms")} ms, full step {Get(ours, "full.step_ms")} / {Get(peer, "full.step_ms")} ms, peak RSS LoRA {Get(ours, "lora.peak_rss_mb")} / {Get(peer, "lora.peak_rss_mb")} MB (LoraGen / TorchSharp); first-loss difference {agree}  [{clock.Elapsed.TotalSeconds:F0} s]");
        }
        Console.WriteLine();
        Console.WriteLine("| d | T | batch | LoRA step ms (LoraGen / TorchSharp) | ratio | full step ms | ratio | peak RSS LoRA MB | ratio | peak RSS full MB | ratio |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (s, o, p) in rows)
            Console.WriteLine($"| {s.Dim} | {s.Context} | {s.Batch} | {Pair(o, p, "lora.step_ms")} | {Ratio(o, p, "lora.step_ms")} | {Pair(o, p, "full.step_ms")} | {Ratio(o, p, "full.step_ms")} | {Pair(o, p, "lora.peak_rss_mb")} | {Ratio(o, p, "lora.peak_rss_mb")} | {Pair(o, p, "full.peak_rss_mb")} | {Ratio(o, p, "full.peak_rss_mb")} |");
        foreach (var (s, o, p) in rows)
            Console.WriteLine($"scale-ratio d={s.Dim} t={s.Context} lora_step={Ratio(o, p, "lora.step_ms")} full_step={Ratio(o, p, "full.step_ms")} peak_rss_lora={Ratio(o, p, "lora.peak_rss_mb")} peak_rss_full={Ratio(o, p, "full.peak_rss_mb")}");
        string time = Path.Combine(outDir, "scale-time.svg"), memory = Path.Combine(outDir, "scale-memory.svg");
        TrainingPlot.Save(time, $"TinyGpt step time at scale ({Tokens} tokens/step, {Environment.ProcessorCount} threads)", "context T (tokens)", "step time, ms (lower is better)",
            Series(rows, "step_ms"), width: 760, height: 440);
        TrainingPlot.Save(memory, $"TinyGpt peak RSS at scale ({Tokens} tokens/step)", "context T (tokens)", "peak RSS, MB (lower is better)",
            Series(rows, "peak_rss_mb"), width: 760, height: 440);
        Console.WriteLine($"wrote {time} and {memory} in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>One line per side, mode and width over T.</summary>
    private static List<PlotSeries> Series(List<(BenchShape Shape, Dictionary<string, double> Ours, Dictionary<string, double> Peer)> rows, string measure)
    {
        var series = new List<PlotSeries>();
        foreach (var mode in new[] { "lora", "full" })
            foreach (var d in rows.Select(r => r.Shape.Dim).Distinct())
                foreach (var (side, pick) in new (string, Func<(BenchShape, Dictionary<string, double>, Dictionary<string, double>), Dictionary<string, double>>)[] { ("LoraGen", r => r.Item2), ("TorchSharp", r => r.Item3) })
                {
                    var pts = rows.Where(r => r.Shape.Dim == d && pick(r).ContainsKey($"{mode}.{measure}")).OrderBy(r => r.Shape.Context).ToList();
                    series.Add(new PlotSeries($"{side} {(mode == "lora" ? "LoRA" : "full")} d {d}", [.. pts.Select(r => (double)r.Shape.Context)], [.. pts.Select(r => pick(r)[$"{mode}.{measure}"])]));
                }
        return series;
    }

    private static string Get(Dictionary<string, double> d, string key) => d.TryGetValue(key, out var v) ? v.ToString("0.#", Inv) : "n/a";

    private static string Pair(Dictionary<string, double> o, Dictionary<string, double> p, string key) => $"{Get(o, key)} / {Get(p, key)}";

    private static string Ratio(Dictionary<string, double> o, Dictionary<string, double> p, string key) =>
        o.TryGetValue(key, out var a) && p.TryGetValue(key, out var b) && b > 0 ? (a / b).ToString("F2", Inv) : "n/a";
}
