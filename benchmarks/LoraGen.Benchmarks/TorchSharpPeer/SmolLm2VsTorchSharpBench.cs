using System.Diagnostics;
using System.Globalization;
using LoraGen.Autograd;
using LoraGen.Families;
using LoraGen.Hub;
using LoraGen.Ops;
using LoraGen.Plotting;
using TorchSharp;
using static TorchSharp.torch;
using Contract = LoraGen.Contract;
using Rng = LoraGen.Tensors.Rng;
using Tensor = TorchSharp.torch.Tensor;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// <c>smollm2-vs-torchsharp [--quick]</c>: LoRA training on the SmolLM2-135M-shaped Llama (the checkpoint
/// <see cref="SmolLm2Bench.EnsureCheckpoint"/> writes: random BF16 weights, HF layout), the managed runtime
/// (<see cref="HfModels.Load"/>, the family's default LoRA: r 8 / alpha 16 on q_proj and v_proj) against the hand-written
/// TorchSharp peer (<see cref="PeerLlamaForCausalLM"/>, the same BF16 file read into fp32). Batch 1 at T 256, 512 and
/// 1024, the same token batch and the same initial A (B = 0) on both sides, AdamW at the managed default lr; each side
/// and T in its own child process (its peak RSS is its own), sides alternating which goes first; 3 runs of 2 untimed + 3
/// timed steps (--quick: 2 runs of 2 + 2), medians. Prints a table, the
/// first-step loss difference, one <c>smollm2-ratio</c> line per T (LoraGen ÷ TorchSharp) and draws
/// benchmarks/smollm2-time.svg and benchmarks/smollm2-memory.svg.
/// </summary>
public static class SmolLm2VsTorchSharpBench
{
    private const int Warmup = 2;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The context lengths, smallest first (batch 1).</summary>
    public static IReadOnlyList<int> Contexts { get; } = [256, 512, 1024];

    /// <summary>Runs both sides at every T and writes the plots into <paramref name="outDir"/>.</summary>
    public static void Compare(string outDir, bool quick)
    {
        string dir = SmolLm2Bench.EnsureCheckpoint();
        int runs = quick ? 2 : 3, steps = quick ? 2 : 3;
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"SmolLM2-135M-shaped Llama (d 576, 30 layers, 9 heads / 3 kv heads, head dim 64, MLP 1536 SwiGLU, vocab 49152, tied embeddings), random BF16 weights: {dir}");
        Console.WriteLine($"LoRA r 8 / alpha 16 on q_proj, v_proj (the Llama family's default), AdamW lr {new FineTuneOptions().LearningRate.ToString(Inv)} weight decay 0.01, batch 1, float32, {Environment.ProcessorCount} threads");
        Console.WriteLine($"LoraGen managed (HfModels.Load + LoraWith(DefaultLoraOptions)) vs the hand-written TorchSharp peer (TorchSharpPeer/PeerLlama*, libtorch via TorchSharp {typeof(torch).Assembly.GetName().Version}), both reading the same BF16 file");
        Console.WriteLine($"{runs} run(s); each side and T in its own child process, {Warmup} untimed + {steps} timed steps, median; sides alternate which goes first{(quick ? " (--quick)" : "")}");
        var ours = new Dictionary<string, List<double>>();
        var peer = new Dictionary<string, List<double>>();
        var losses = new Dictionary<string, string>();
        string settings = "";
        for (int run = 0; run < runs; run++)
        {
            foreach (var (t, n) in Contexts.Select((t, i) => (t, i)))
            {
                var order = (run + n) % 2 == 0 ? new[] { "loragen", "torchsharp" } : ["torchsharp", "loragen"];
                foreach (var side in order)
                {
                    var into = side == "loragen" ? ours : peer;
                    foreach (var (k, v) in Child(side, dir, t, steps))
                    {
                        if (k is "first_loss" or "second_loss") losses.TryAdd($"{side}.{t}.{k}", v);
                        else if (k is "step_ms" or "peak_rss_mb" or "load_s" && double.TryParse(v, Inv, out var d))
                        {
                            if (!into.TryGetValue($"{t}.{k}", out var list)) into[$"{t}.{k}"] = list = [];
                            list.Add(d);
                        }
                        else if (k == "settings" && side == "torchsharp") settings = v;
                    }
                }
                Console.WriteLine($"run {run + 1}/{runs}, T {t}: LoRA step {Last(ours, $"{t}.step_ms")} / {Last(peer, $"{t}.step_ms")} ms, peak RSS {Last(ours, $"{t}.peak_rss_mb")} / {Last(peer, $"{t}.peak_rss_mb")} MB (LoraGen / TorchSharp)  [{clock.Elapsed.TotalSeconds:F0} s]");
            }
        }
        Console.WriteLine();
        Console.WriteLine($"TorchSharp peer: {settings}");
        foreach (var t in Contexts)
        {
            foreach (var which in new[] { "first_loss", "second_loss" })
            {
                string a = losses.GetValueOrDefault($"loragen.{t}.{which}", "n/a"), b = losses.GetValueOrDefault($"torchsharp.{t}.{which}", "n/a");
                double? gap = double.TryParse(a, Inv, out var la) && double.TryParse(b, Inv, out var lb) ? Math.Abs(la - lb) : null;
                string diff = gap is { } g ? g.ToString("0.0e0", Inv) : "n/a";
                bool ok = gap <= 1e-3;
                Console.WriteLine($"T {t} {(which == "first_loss" ? "first" : "second")}-step loss: LoraGen {a}, TorchSharp {b}, |difference| {diff}{(which == "first_loss" ? ok ? " (agree within 1e-3)" : " (DO NOT AGREE within 1e-3)" : "")}");
            }
        }
        Console.WriteLine();
        Console.WriteLine("| T | LoRA step ms, LoraGen | TorchSharp | ratio | peak RSS MB, LoraGen | TorchSharp | ratio | load s, LoraGen / TorchSharp |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var t in Contexts)
            Console.WriteLine($"| {t} | {Fmt(MedianOf(ours, $"{t}.step_ms"))} | {Fmt(MedianOf(peer, $"{t}.step_ms"))} | {Ratio(ours, peer, $"{t}.step_ms")} | {Fmt(MedianOf(ours, $"{t}.peak_rss_mb"))} | {Fmt(MedianOf(peer, $"{t}.peak_rss_mb"))} | {Ratio(ours, peer, $"{t}.peak_rss_mb")} | {Fmt(MedianOf(ours, $"{t}.load_s"))} / {Fmt(MedianOf(peer, $"{t}.load_s"))} |");
        foreach (var t in Contexts)
            Console.WriteLine($"smollm2-ratio t={t} lora_step={Ratio(ours, peer, $"{t}.step_ms")} peak_rss={Ratio(ours, peer, $"{t}.peak_rss_mb")}");
        string time = Path.Combine(outDir, "smollm2-time.svg"), memory = Path.Combine(outDir, "smollm2-memory.svg");
        TrainingPlot.Save(time, $"SmolLM2-135M-shaped LoRA step, batch 1 ({Environment.ProcessorCount} threads, fp32)", "context T (tokens)", "step time, ms (lower is better)",
            Series(ours, peer, "step_ms"), width: 760, height: 440);
        TrainingPlot.Save(memory, "SmolLM2-135M-shaped LoRA training, peak RSS (batch 1)", "context T (tokens)", "peak RSS, MB (lower is better)",
            Series(ours, peer, "peak_rss_mb"), width: 760, height: 440);
        Console.WriteLine($"wrote {time} and {memory} in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>Child process: one side (loragen, torchsharp) at context <paramref name="t"/>; prints key=value lines.</summary>
    public static void RunMode(string side, string dir, int t, int steps)
    {
        var (x, y) = Batch(t, ((LlamaConfig)HfConfig.ReadDirectory(dir)).VocabSize);
        var (times, first, second) = side switch
        {
            "loragen" => RunManaged(dir, x, y, t, steps),
            "torchsharp" => RunPeer(dir, x, y, t, steps),
            _ => throw new ArgumentException($"unknown side '{side}' (loragen, torchsharp)"),
        };
        Console.WriteLine($"first_loss={first.ToString("F6", Inv)}");
        Console.WriteLine($"second_loss={second.ToString("F6", Inv)}");
        Console.WriteLine($"step_ms={TorchSharpBench.Median(times).ToString("F1", Inv)}");
        Console.WriteLine($"peak_rss_mb={Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)}");
    }

    private static (List<double> Times, float First, float Second) RunManaged(string dir, int[] x, int[] y, int t, int steps)
    {
        var sw = Stopwatch.StartNew();
        var model = HfModels.Load(dir);
        Console.WriteLine($"load_s={sw.Elapsed.TotalSeconds.ToString("F2", Inv)}");
        var options = model.DefaultLoraOptions;
        var lora = model.LoraWith(options);
        lora.Attach(seed: 0);
        var parameters = lora.Parameters().ToList();
        Console.WriteLine($"lora=r {options.Defaults.Rank}, alpha {options.Defaults.Alpha.ToString(Inv)}, dropout {options.Defaults.Dropout.ToString(Inv)}, targets {string.Join(",", options.Targets)}");
        var a = InitA([.. parameters.Where(p => p.Dim(0) == options.Defaults.Rank).Select(p => (p.Dim(0), p.Dim(1)))]);
        int ai = 0;
        foreach (var p in parameters)
            if (p.Dim(0) == options.Defaults.Rank) a[ai++].CopyTo(p.Data);   // A [r, in] (B [out, r] stays 0)
        var opt = new LoraGen.Optim.AdamW(parameters, lr: new FineTuneOptions().LearningRate, weightDecay: 0.01f);
        int vocab = model.Config.VocabSize;
        model.Train();
        var (times, all) = (new List<double>(), new List<double>());
        float first = float.NaN, second = float.NaN;
        for (int i = 0; i < Warmup + steps; i++)
        {
            sw.Restart();
            opt.ZeroGrad();
            var loss = model.Forward(x, 1, t).Reshape(t, vocab).CrossEntropy(y);
            float value = loss.Item();
            loss.Backward();
            opt.Step();
            if (i == 0) first = value;
            if (i == 1) second = value;
            all.Add(sw.Elapsed.TotalMilliseconds);
            if (i >= Warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine($"all_steps_ms={string.Join(' ', all.Select(v => v.ToString("F0", Inv)))}");
        return (times, first, second);
    }

    private static (List<double> Times, float First, float Second) RunPeer(string dir, int[] x, int[] y, int t, int steps)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        var sw = Stopwatch.StartNew();
        // The family's compile-time LoRA settings (what DefaultLoraOptions returns on the managed side), without building a managed model.
        var lora = LlamaForCausalLM.LoraOptions;
        if (!lora.Targets.Order(StringComparer.Ordinal).SequenceEqual(["q_proj", "v_proj"]) || lora.Defaults.Dropout != 0)
            throw new InvalidOperationException($"the Llama peer adapts q_proj and v_proj without dropout; the family declares {string.Join(",", lora.Targets)}, dropout {lora.Defaults.Dropout}");
        var config = PeerLlamaConfig.From((LlamaConfig)HfConfig.ReadDirectory(dir), lora.Defaults.Rank, lora.Defaults.Alpha);
        var model = new PeerLlamaForCausalLM(config);
        model.LoadBase(Path.Combine(dir, Contract.HfFiles.Weights));
        Console.WriteLine($"load_s={sw.Elapsed.TotalSeconds.ToString("F2", Inv)}");
        foreach (var (name, p) in model.named_parameters()) p.requires_grad = name.Contains(".adapter_", StringComparison.Ordinal);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var aParams = trainable.Where(p => p.name.EndsWith(".adapter_a", StringComparison.Ordinal)).Select(p => p.parameter).ToList();
        var a = InitA([.. aParams.Select(p => ((int)p.shape[0], (int)p.shape[1]))]);
        using (no_grad())
            for (int i = 0; i < aParams.Count; i++)
            {
                using var src = tensor(a[i], aParams[i].shape);
                aParams[i].copy_(src);
            }
        Console.WriteLine($"settings=threads {torch.get_num_threads()}, LoRA r {config.Rank} alpha {config.Alpha.ToString(Inv)} on q_proj, v_proj, dtype {trainable[0].parameter.dtype.ToString().ToLowerInvariant()}, trainable adapter A/B only ({trainable.Count} tensors, {trainable.Sum(p => p.parameter.numel()):N0} values: {string.Join(", ", trainable.Select(p => p.name).Take(2))}, …), base requires_grad false, AdamW lr {new FineTuneOptions().LearningRate.ToString(Inv)} weight decay 0.01");
        var opt = optim.AdamW(trainable.Select(p => p.parameter), lr: new FineTuneOptions().LearningRate, weight_decay: 0.01);
        using var xs = tensor(x.Select(i => (long)i).ToArray(), [1, t]);
        using var ys = tensor(y.Select(i => (long)i).ToArray(), [t]);
        var (times, all) = (new List<double>(), new List<double>());
        float first = float.NaN, second = float.NaN;
        for (int i = 0; i < Warmup + steps; i++)
        {
            sw.Restart();
            float value;
            using (NewDisposeScope())
            {
                opt.zero_grad();
                var logits = model.call(xs);
                var loss = nn.functional.cross_entropy(logits.reshape(t, config.Vocab), ys);
                loss.backward();
                opt.step();
                value = loss.item<float>();
            }
            if (i == 0) first = value;
            if (i == 1) second = value;
            all.Add(sw.Elapsed.TotalMilliseconds);
            if (i >= Warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine($"all_steps_ms={string.Join(' ', all.Select(v => v.ToString("F0", Inv)))}");
        return (times, first, second);
    }

    /// <summary>
    /// The initial A of every adapted layer, in model order (layer 0's q_proj, v_proj, layer 1's…): U(±1/√in) (PEFT's
    /// kaiming_uniform(a=√5)) from one runtime Rng, so both sides start from the same numbers.
    /// </summary>
    private static List<float[]> InitA(List<(int Rank, int In)> shapes)
    {
        var rng = new Rng(20);
        var a = new List<float[]>();
        foreach (var (rank, fanIn) in shapes)
        {
            var values = new float[rank * fanIn];
            float bound = 1f / MathF.Sqrt(fanIn);
            rng.FillUniform(values, -bound, bound);
            a.Add(values);
        }
        return a;
    }

    /// <summary>Next-token batch: t + 1 tokens from the runtime's Rng(0); ids = the first t, targets = the last t.</summary>
    private static (int[] X, int[] Y) Batch(int t, int vocab)
    {
        var rng = new Rng(0);
        var tokens = new int[t + 1];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.NextInt(vocab);
        return (tokens[..t], tokens[1..]);
    }

    private static IEnumerable<(string, string)> Child(string side, string dir, int t, int steps)
    {
        var self = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var dll = typeof(SmolLm2VsTorchSharpBench).Assembly.Location;
        return TinyGptBench.Run(self, string.Create(Inv, $"\"{dll}\" smollm2-ts-mode {side} \"{dir}\" {t} {steps}"));
    }

    private static List<PlotSeries> Series(Dictionary<string, List<double>> ours, Dictionary<string, List<double>> peer, string measure)
    {
        var series = new List<PlotSeries>();
        foreach (var (label, d) in new[] { ("LoraGen (managed)", ours), ("TorchSharp (libtorch)", peer) })
        {
            var pts = Contexts.Where(t => MedianOf(d, $"{t}.{measure}") is not null).ToList();
            series.Add(new PlotSeries(label, [.. pts.Select(t => (double)t)], [.. pts.Select(t => MedianOf(d, $"{t}.{measure}")!.Value)]));
        }
        return series;
    }

    private static string Last(Dictionary<string, List<double>> d, string key) =>
        d.TryGetValue(key, out var l) && l.Count > 0 ? l[^1].ToString("0.#", Inv) : "n/a";

    private static double? MedianOf(Dictionary<string, List<double>> d, string key) =>
        d.TryGetValue(key, out var l) && l.Count > 0 ? TorchSharpBench.Median([.. l]) : null;

    private static string Fmt(double? v) => v is { } x ? x.ToString(x < 10 ? "F2" : "F0", Inv) : "n/a";

    private static string Ratio(Dictionary<string, List<double>> o, Dictionary<string, List<double>> p, string key) =>
        MedianOf(o, key) is { } a && MedianOf(p, key) is { } b && b > 0 ? (a / b).ToString("F2", Inv) : "n/a";
}
