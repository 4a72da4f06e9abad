using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using LoraGen.Benchmarks;

// Usage:
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- gemm-vs-torch   GEMM here and in PyTorch, with ratios
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- safetensors-load   256 MiB load vs plain read, GB/s
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- runtime-gemm       managed GEMM GFLOP/s, fp32 and bf16 weight (LORAGEN_GEMM_AVX512=0|1)
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- tinygpt-vs-torch   TinyGpt LoRA/full steps, forward, memory vs PyTorch
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- tinygpt-vs-torchsharp [--quick]   TinyGpt vs the hand-written TorchSharp peer, ratio line
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- gemm-vs-torchsharp [--quick]   fp32 GEMM A·B and A·Bᵀ, n 256–2048, vs libtorch (TorchSharp), alternating calls
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- tinygpt-scale [--quick]   the same comparison at d 512/768 × T 512/1024: table + benchmarks/scale-time.svg, scale-memory.svg
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- torchsharp-wiring [--quick]   generated TorchSharp LoRA vs the peer: wiring overhead
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- smollm2 [--quick]   SmolLM2-135M-shaped Llama: load, memory, LoRA step and decode tokens/s
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- memory             peak RSS of a training step per method (full, LoRA, LoRA-FA, QLoRA), formulas, MemoryReport, memory.svg
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- smollm2-vs-torchsharp [--quick]   SmolLM2-135M-shaped LoRA step and peak RSS vs a hand-written TorchSharp Llama, T 256-1024: table + benchmarks/smollm2-time.svg, smollm2-memory.svg
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- smollm2-decode [--quick]   decode: f32 vs bf16 base, per-op profile, m = 1 GEMM
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- fuzz-models [N]   model-directory input fuzz, N cases per surface (default 100,000)
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- mixed-batch        8 adapters × 16 requests: one mixed batch vs 8 separate passes
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- generator          generator time, 1,000 classes, cold and after an edit
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- plot [OUT.svg|png] benchmarks/gemm.svg from the README's GEMM table
//   dotnet run -c Release --project benchmarks/LoraGen.Benchmarks -- [BenchmarkDotNet args]   any suite, e.g. --filter '*Gemm*'
var invariant = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "plot")
{
    string readme = Path.Combine(RepoRoot(), "benchmarks", "README.md"), svg = args.Length > 1 ? Path.GetFullPath(args[1]) : Path.Combine(RepoRoot(), "benchmarks", "gemm.svg");
    Console.WriteLine($"plotted {ReadmePlots.DrawGemm(readme, svg)} rows of {readme} to {svg}");
    return;
}
if (args.Length > 0 && args[0] == "gemm-vs-torch")
{
    var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithId("short"));
    var summary = BenchmarkRunner.Run<GemmBenchmarks>(config);
    var ours = new Dictionary<(string, int), double>();
    foreach (var report in summary.Reports)
    {
        if (report.ResultStatistics is null) continue;
        int n = (int)report.BenchmarkCase.Parameters["N"];
        string method = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
        ours[(method, n)] = 2.0 * n * n * n / report.ResultStatistics.Mean;   // flops per ns = GFLOP/s
    }
    var torch = RunTorch(Path.Combine(RepoRoot(), "benchmarks", "torch", "gemm.py"));
    Console.WriteLine();
    Console.WriteLine($"GEMM fp32, {Environment.ProcessorCount} threads — GFLOP/s (LoraGen managed kernel vs PyTorch {torch.GetValueOrDefault("version", "?")})");
    Console.WriteLine("| n | layout | LoraGen | PyTorch | ratio |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var ((method, n), g) in ours.OrderBy(kv => kv.Key.Item2).ThenBy(kv => kv.Key.Item1))
    {
        string layout = method == "Sgemm" ? "A·B" : "A·Bᵀ";
        string key = method == "Sgemm" ? $"nn{n}" : $"nt{n}";
        string t = torch.TryGetValue(key, out var tv) ? tv : "n/a";
        string ratio = double.TryParse(t, invariant, out var tg) ? $"{100 * g / tg:F0}%" : "n/a";
        Console.WriteLine($"| {n} | {layout} | {g.ToString("F1", invariant)} | {t} | {ratio} |");
    }
    return;
}
if (args.Length > 0 && args[0] == "safetensors-load")
{
    var summary = BenchmarkRunner.Run<SafetensorsLoadBenchmarks>(DefaultConfig.Instance.AddJob(Job.ShortRun.WithId("short")));
    double bytes = SafetensorsLoadBenchmarks.DataBytes;
    Console.WriteLine();
    Console.WriteLine("Loading 256 MiB of F32 from the page cache — GB/s (higher is better)");
    Console.WriteLine("| method | time (ms) | GB/s | vs plain read |");
    Console.WriteLine("|---|---|---|---|");
    double? baseline = null;
    foreach (var report in summary.Reports.OrderBy(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name != "PlainRead"))
    {
        if (report.ResultStatistics is null) continue;
        double ns = report.ResultStatistics.Mean;
        baseline ??= ns;
        Console.WriteLine($"| {report.BenchmarkCase.Descriptor.WorkloadMethod.Name} | {(ns / 1e6).ToString("F1", invariant)} | {(bytes / ns).ToString("F2", invariant)} | {(100 * baseline.Value / ns).ToString("F0", invariant)}% |");
    }
    return;
}
if (args.Length > 0 && args[0] == "runtime-gemm")
{
    RuntimeGemmBench.Run();
    return;
}
if (args.Length > 1 && args[0] == "tinygpt-mode")
{
    TinyGptBench.RunMode(args[1]);
    return;
}
if (args.Length > 2 && args[0] == "memory-mode")
{
    MemoryBench.RunMode(args[1], args[2]);
    return;
}
if (args.Length > 0 && args[0] == "memory")
{
    MemoryBench.Compare(RepoRoot());
    return;
}
if (args.Length > 0 && args[0] == "tinygpt-vs-torch")
{
    TinyGptBench.Compare(RepoRoot());
    return;
}
if (args.Length > 3 && args[0] == "tinygpt-ts-mode")
{
    int stepsAt = Array.IndexOf(args, "--steps");
    LoraGen.Benchmarks.TorchSharpPeer.TorchSharpBench.RunMode(args[1], args[2], args[3], args.Contains("--quick"),
        LoraGen.Benchmarks.TorchSharpPeer.BenchShape.Parse(args), stepsAt > 0 && stepsAt + 1 < args.Length ? int.Parse(args[stepsAt + 1], invariant) : null);
    return;
}
if (args.Length > 0 && args[0] == "tinygpt-vs-torchsharp")
{
    LoraGen.Benchmarks.TorchSharpPeer.TorchSharpBench.Compare(args.Contains("--quick"), args.Contains("--infer"));
    return;
}
if (args.Length > 0 && args[0] == "gemm-vs-torchsharp")
{
    LoraGen.Benchmarks.TorchSharpPeer.GemmVsTorchSharpBench.Run(args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "small-work")
{
    if (args.Contains("--batch-scaling")) LoraGen.Benchmarks.TorchSharpPeer.SmallWorkBench.BatchScaling();
    else LoraGen.Benchmarks.TorchSharpPeer.SmallWorkBench.Run(args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "tinygpt-scale")
{
    int shapesAt = Array.IndexOf(args, "--shapes");
    LoraGen.Benchmarks.TorchSharpPeer.ScaleBench.Compare(Path.Combine(RepoRoot(), "benchmarks"), args.Contains("--quick"),
        shapesAt > 0 && shapesAt + 1 < args.Length ? args[shapesAt + 1] : null);
    return;
}
if (args.Length > 0 && args[0] == "torchsharp-wiring")
{
    LoraGen.Benchmarks.TorchSharpPeer.TorchSharpBench.Wiring(args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "smollm2")
{
    SmolLm2Bench.Compare(args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "smollm2-vs-torchsharp")
{
    LoraGen.Benchmarks.TorchSharpPeer.SmolLm2VsTorchSharpBench.Compare(Path.Combine(RepoRoot(), "benchmarks"), args.Contains("--quick"));
    return;
}
if (args.Length > 4 && args[0] == "smollm2-ts-mode")
{
    LoraGen.Benchmarks.TorchSharpPeer.SmolLm2VsTorchSharpBench.RunMode(args[1], args[2], int.Parse(args[3], invariant), int.Parse(args[4], invariant));
    return;
}
if (args.Length > 0 && args[0] == "smollm2-decode")
{
    SmolLm2Bench.Decode(args.Contains("--quick"));
    return;
}
if (args.Length > 1 && args[0] == "smollm2-mode")
{
    SmolLm2Bench.RunMode(args[1], args.Contains("--quick"));
    return;
}
if (args.Length > 0 && args[0] == "fuzz-models")
{
    Environment.ExitCode = FuzzModelsBench.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000);
    return;
}
if (args.Length > 0 && args[0] == "mixed-batch")
{
    MixedBatchBench.Run();
    return;
}
if (args.Length > 0 && args[0] == "generator")
{
    var summary = BenchmarkRunner.Run<GeneratorBenchmarks>(DefaultConfig.Instance.AddJob(Job.ShortRun.WithId("short")));
    var probe = new GeneratorBenchmarks();
    probe.Setup();
    Console.WriteLine();
    Console.WriteLine($"Generator over {GeneratorBenchmarks.Classes} annotated classes (+ a [LoraModel] root)");
    Console.WriteLine("| run | time (ms) | files |");
    Console.WriteLine("|---|---|---|");
    foreach (var report in summary.Reports)
        if (report.ResultStatistics is not null)
            Console.WriteLine($"| {report.BenchmarkCase.Descriptor.WorkloadMethod.Name} | {(report.ResultStatistics.Mean / 1e6).ToString("F1", invariant)} | {GeneratorBenchmarks.Classes + 1} |");
    Console.WriteLine($"Outputs regenerated by the unrelated edit: {probe.RegeneratedOnEdit()}");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args);

static string RepoRoot()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoraGen.sln"))) dir = dir.Parent;
    return dir?.FullName ?? Directory.GetCurrentDirectory();
}

static Dictionary<string, string> RunTorch(string script)
{
    var result = new Dictionary<string, string>();
    var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    try
    {
        var psi = new ProcessStartInfo(python, $"\"{script}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) Console.Error.WriteLine($"PyTorch side failed ({python} {script}): {err.Trim()}");
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('=', 2);
            if (parts.Length == 2) result[parts[0].Trim()] = parts[1].Trim();
        }
    }
    catch (System.ComponentModel.Win32Exception e)
    {
        Console.Error.WriteLine($"PyTorch side not run: {e.Message}. Install it with: apt-get install -y python3-torch libopenblas0-pthread");
    }
    return result;
}
