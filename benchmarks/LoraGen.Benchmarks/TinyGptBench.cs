using System.Diagnostics;
using System.Globalization;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Tensors;
using TinyGpt.Lora.Model;

namespace LoraGen.Benchmarks;

/// <summary>
/// The sample's TinyGpt (vocab 96, d 256, 4 layers, 4 heads, seq 128, batch 16, AdamW) timed step by step, one
/// mode per process so that peak memory belongs to that mode. The PyTorch twin is benchmarks/torch/tinygpt.py.
/// A training step takes ~0.5 s, so this uses a plain warm-up-then-median loop rather than BenchmarkDotNet.
/// </summary>
public static class TinyGptBench
{
    private const int B = 16, T = 128;

    /// <summary>Runs one mode (lora, full, forward) and prints key=value lines like the PyTorch script.</summary>
    public static void RunMode(string mode)
    {
        var cfg = new GptConfig();
        var rng = new Rng(0);
        var x = new int[B * T];
        var y = new int[B * T];
        for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(cfg.Vocab); y[i] = rng.NextInt(cfg.Vocab); }
        var model = new Gpt(cfg, new Rng(1));
        if (mode is "lora" or "full" or "lora-bf16" or "lora-int8")
        {
            if (mode != "full") model.Lora.Attach();
            if (mode == "lora-bf16") model.CastFrozenBase(LoraGen.Nn.BaseFormat.BF16);   // frozen base in bf16, LoRA in fp32
            if (mode == "lora-int8") model.CastFrozenBase(LoraGen.Nn.BaseFormat.Int8);   // frozen base in int8 (VNNI), LoRA in fp32
            var opt = new AdamW(mode != "full" ? model.Lora.Parameters() : model.Parameters(), lr: 2e-4f);
            float loss = 0;
            var times = new List<double>();
            for (int i = 0; i < 13; i++)
            {
                if (i == 3) OpProfiler.Reset();   // LORAGEN_PROFILE=1: profile the timed steps only
                var sw = Stopwatch.StartNew();
                opt.ZeroGrad();
                var l = model.Forward(x, B, T).CrossEntropy(y);
                loss = l.Item();
                l.Backward();
                opt.Step();
                if (i >= 3) times.Add(sw.Elapsed.TotalMilliseconds);
            }
            Console.WriteLine(FormattableString.Invariant($"step_ms={Median(times):F1}"));
            Console.WriteLine(FormattableString.Invariant($"last_loss={loss:F6}"));
        }
        else
        {
            // Three instances with the same base weights: plain, LoRA unmerged, LoRA merged. Calls are interleaved
            // so that JIT tiering and machine noise hit all three alike.
            var plain = new Gpt(cfg, new Rng(1));
            var unmerged = model;
            unmerged.Lora.Attach();
            foreach (var p in unmerged.Lora.Parameters()) if (p.Shape[1] == 8) rng.FillNormal(p.Data, 0, 0.02f);   // non-zero B
            var merged = new Gpt(cfg, new Rng(1));
            var adapterDir = Path.Combine(Path.GetTempPath(), $"loragen-bench-{Environment.ProcessId}");
            unmerged.Lora.Save(adapterDir);
            merged.Lora.Load(adapterDir);
            merged.Lora.Merge();
            Directory.Delete(adapterDir, recursive: true);
            var ids = x[..T];
            var models = new[] { plain, unmerged, merged };
            var times = models.Select(_ => new List<double>()).ToArray();
            using (GradMode.NoGrad())
            {
                foreach (var m in models) m.Eval();
                for (int i = 0; i < 300; i++)
                    for (int j = 0; j < models.Length; j++)
                    {
                        var sw = Stopwatch.StartNew();
                        models[j].Forward(ids, 1, T);
                        if (i >= 50) times[j].Add(sw.Elapsed.TotalMilliseconds);
                    }
            }
            Console.WriteLine(FormattableString.Invariant($"forward_base_ms={Median(times[0]):F2}"));
            Console.WriteLine(FormattableString.Invariant($"forward_unmerged_ms={Median(times[1]):F2}"));
            Console.WriteLine(FormattableString.Invariant($"forward_merged_ms={Median(times[2]):F2}"));
        }
        Console.WriteLine(FormattableString.Invariant($"peak_rss_mb={Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)}"));
    }

    /// <summary>Runs every mode here (child processes) and in PyTorch, alternating, and prints the table.</summary>
    public static void Compare(string repoRoot)
    {
        // Children run as `dotnet <this dll>`, whatever launched us (apphost or dotnet).
        var self = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var dll = typeof(TinyGptBench).Assembly.Location;
        var script = Path.Combine(repoRoot, "benchmarks", "torch", "tinygpt.py");
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var ours = new Dictionary<string, string>();
        var torch = new Dictionary<string, string>();
        foreach (var mode in new[] { "lora", "full", "forward" })
        {
            Console.WriteLine($"running {mode} ...");
            foreach (var (k, v) in Run(self, $"\"{dll}\" tinygpt-mode {mode}")) ours[$"{mode}.{k}"] = v;
            foreach (var (k, v) in Run(python, $"\"{script}\" {mode}")) torch[$"{mode}.{k}"] = v;
        }
        string Row(string label, string key, bool lowerIsBetter = true)
        {
            string a = ours.GetValueOrDefault(key, "n/a"), b = torch.GetValueOrDefault(key, "n/a");
            string ratio = double.TryParse(a, CultureInfo.InvariantCulture, out var x) && double.TryParse(b, CultureInfo.InvariantCulture, out var y) && x > 0
                ? (y / x).ToString("F2", CultureInfo.InvariantCulture) + "×" : "n/a";
            return $"| {label} | {a} | {b} | {ratio} |";
        }
        Console.WriteLine();
        Console.WriteLine($"TinyGpt (vocab 96, d 256, 4 layers, 4 heads, seq 128, batch 16, AdamW), {Environment.ProcessorCount} threads — LoraGen vs PyTorch {torch.GetValueOrDefault("lora.version", "?")}");
        Console.WriteLine("| measure | LoraGen | PyTorch | PyTorch time ÷ LoraGen time |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(Row("LoRA training step (ms)", "lora.step_ms"));
        Console.WriteLine(Row("full fine-tune step (ms)", "full.step_ms"));
        Console.WriteLine(Row("batch-1 forward, base (ms)", "forward.forward_base_ms"));
        Console.WriteLine(Row("batch-1 forward, LoRA unmerged (ms)", "forward.forward_unmerged_ms"));
        Console.WriteLine(Row("batch-1 forward, LoRA merged (ms)", "forward.forward_merged_ms"));
        Console.WriteLine(Row("peak memory, LoRA training (MB)", "lora.peak_rss_mb"));
        Console.WriteLine(Row("peak memory, full fine-tune (MB)", "full.peak_rss_mb"));
        if (double.TryParse(ours.GetValueOrDefault("lora.step_ms"), CultureInfo.InvariantCulture, out var l) &&
            double.TryParse(ours.GetValueOrDefault("full.step_ms"), CultureInfo.InvariantCulture, out var f) &&
            double.TryParse(ours.GetValueOrDefault("forward.forward_merged_ms"), CultureInfo.InvariantCulture, out var m) &&
            double.TryParse(ours.GetValueOrDefault("forward.forward_base_ms"), CultureInfo.InvariantCulture, out var bs))
        {
            Console.WriteLine(FormattableString.Invariant($"LoraGen: LoRA step / full step = {l / f:F2}; merged forward / base forward = {m / bs:F3}"));
        }
    }

    /// <summary>Runs a child process and returns its key=value output lines (stderr is reported on failure).</summary>
    internal static IEnumerable<(string, string)> Run(string exe, string arguments)
    {
        var psi = new ProcessStartInfo(exe, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) Console.Error.WriteLine($"{exe} {arguments} failed: {err.Trim()}");
            else if (Environment.GetEnvironmentVariable("LORAGEN_PROFILE") is "1" or "true" && err.Length > 0) Console.Error.WriteLine(err.TrimEnd());   // the child's op profile
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(s => s.Length == 2).Select(s => (s[0].Trim(), s[1].Trim())).ToList();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"{exe} not run: {e.Message}");
            return [];
        }
    }

    private static double Median(List<double> xs)
    {
        xs.Sort();
        return xs[xs.Count / 2];
    }
}
