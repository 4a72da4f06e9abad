using System.Diagnostics;
using System.Globalization;
using LoraGen.Families;
using LoraGen.Generation;
using LoraGen.Hub;
using LoraGen.IO;
using LoraGen.Ops;
using LoraGen.Contract;
using LoraGen.SafeTensors;

namespace LoraGen.Benchmarks;

/// <summary>
/// SmolLM2-135M-shaped Llama on the managed runtime: a checkpoint with SmolLM2-135M's config.json and random BF16
/// weights (written once into the temp folder by the repo's writers, never committed), then load time and memory,
/// LoRA training steps (r 8 on q_proj, v_proj, AdamW, T 256, batch 1) and batch-1 decode with the KV cache.
/// The measuring runs in a child process so its peak RSS is that of loading and running, not of writing the file.
/// </summary>
internal static class SmolLm2Bench
{
    /// <summary>SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M), the fields the Llama family reads.</summary>
    private const string ConfigJson = """
        {
          "architectures": ["LlamaForCausalLM"],
          "model_type": "llama",
          "vocab_size": 49152,
          "hidden_size": 576,
          "intermediate_size": 1536,
          "num_hidden_layers": 30,
          "num_attention_heads": 9,
          "num_key_value_heads": 3,
          "head_dim": 64,
          "hidden_act": "silu",
          "max_position_embeddings": 8192,
          "rms_norm_eps": 1e-05,
          "rope_theta": 100000,
          "rope_scaling": null,
          "attention_bias": false,
          "mlp_bias": false,
          "tie_word_embeddings": true,
          "bos_token_id": 0,
          "eos_token_id": 0,
          "torch_dtype": "bfloat16"
        }
        """;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The checkpoint folder (temp), written on first use.</summary>
    public static string EnsureCheckpoint()
    {
        string dir = Path.Combine(Path.GetTempPath(), "loragen-smollm2-135m-random");
        if (File.Exists(Path.Combine(dir, HfFiles.Weights)) && File.Exists(Path.Combine(dir, HfFiles.ModelConfig))) return dir;
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, HfFiles.ModelConfig), ConfigJson + "\n");
        var layout = WeightLayout.For(HfConfig.ReadDirectory(dir));
        // std 0.02 (uniform ±0.02·√3) like a fresh transformers init; RMSNorm weights 1.
        var rng = new Random(135);
        float a = 0.02f * MathF.Sqrt(3f);
        var weights = new Dictionary<string, float[]>();
        foreach (var spec in layout.Specs)
        {
            var w = new float[spec.ElementCount];
            if (spec.Shape.Length == 1) Array.Fill(w, 1f);
            else for (int i = 0; i < w.Length; i++) w[i] = a * (2f * rng.NextSingle() - 1f);
            weights[spec.Key] = w;
        }
        CheckpointWriter.Save(dir, dir, layout, weights, prefixInFile: true, sourceIndex: null, SafetensorsDType.BF16);
        Console.WriteLine(FormattableString.Invariant($"wrote {dir} ({new FileInfo(Path.Combine(dir, HfFiles.Weights)).Length / 1e6:F0} MB BF16) in {sw.Elapsed.TotalSeconds:F1} s"));
        return dir;
    }

    /// <summary>Writes the checkpoint if needed, measures in a child process and prints the table.</summary>
    public static void Compare(bool quick)
    {
        string dir = EnsureCheckpoint();
        string self = typeof(SmolLm2Bench).Assembly.Location;
        string exe = Environment.ProcessPath ?? "dotnet";
        string arguments = (Path.GetFileNameWithoutExtension(exe) == "dotnet" ? $"\"{self}\" " : "") + $"smollm2-mode \"{dir}\"" + (quick ? " --quick" : "");
        var r = TinyGptBench.Run(exe, arguments).ToDictionary(kv => kv.Item1, kv => kv.Item2);
        string V(string key) => r.GetValueOrDefault(key, "n/a");
        Console.WriteLine();
        Console.WriteLine($"SmolLM2-135M-shaped Llama (random BF16 weights, {V("params")} parameters: d 576, 30 layers, 9 heads / 3 kv heads, " +
            $"MLP 1536, vocab 49152, tied embeddings), managed runtime, {Environment.ProcessorCount} threads{(quick ? ", --quick" : "")}");
        Console.WriteLine("TorchSharp has no Llama peer yet: no ratio column (LoraGen only).");
        Console.WriteLine("| measure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| load (HfModels.Load, BF16 → fp32), median of {V("load_runs")} | {V("load_s")} s |");
        Console.WriteLine($"| RSS after load / peak RSS after load | {V("rss_after_load_mb")} MB / {V("peak_rss_after_load_mb")} MB |");
        Console.WriteLine($"| managed heap after load (GC.GetTotalMemory) | {V("managed_after_load_mb")} MB |");
        Console.WriteLine($"| decode, batch 1, KV cache, 16-token prompt + 32 new (greedy), median of {V("decode_runs")} | {V("decode_tps")} tokens/s (prefill {V("prefill_ms")} ms) |");
        Console.WriteLine($"| LoRA step (r 8 on q_proj, v_proj; AdamW), T 256, batch 1, median of {V("train_steps")} after 1 warm-up | {V("train_tps")} tokens/s ({V("train_step_s")} s/step) |");
        Console.WriteLine($"| adapter (PEFT summary) | {V("trainable").Replace("|", "\\|", StringComparison.Ordinal)} |");
        Console.WriteLine($"| peak RSS, whole run | {V("peak_rss_mb")} MB |");
    }

    /// <summary>The child: loads, decodes, trains; prints key=value lines.</summary>
    public static void RunMode(string dir, bool quick)
    {
        var p = Process.GetCurrentProcess();
        int loads = quick ? 1 : 3, decodes = quick ? 1 : 3, steps = quick ? 2 : 5;
        var loadTimes = new List<double>();
        CausalLmModule model = null!;
        for (int i = 0; i < loads; i++)
        {
            model = null!;
            GC.Collect();
            var sw = Stopwatch.StartNew();
            model = HfModels.Load(dir);
            loadTimes.Add(sw.Elapsed.TotalSeconds);
        }
        p.Refresh();
        Emit("load_runs", loads);
        Emit("load_s", Median(loadTimes).ToString("F2", Inv));
        Emit("params", model.Layout.Specs.Sum(s => s.ElementCount).ToString("N0", Inv));
        Emit("peak_rss_after_load_mb", p.PeakWorkingSet64 >> 20);
        Emit("managed_after_load_mb", GC.GetTotalMemory(forceFullCollection: true) >> 20);
        p.Refresh();
        Emit("rss_after_load_mb", p.WorkingSet64 >> 20);

        // Decode: the first token comes after the prefill; the other 31 are one cached step each.
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, 16).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
        var lm = new ManagedCausalLm(model, capacity: 64);
        var tps = new List<double>();
        var prefill = new List<double>();
        for (int i = 0; i <= decodes; i++)   // run 0 warms up
        {
            var stamps = new List<double>();
            var sw = Stopwatch.StartNew();
            TextGenerator.Generate(lm, prompt, new SamplingOptions { MaxNewTokens = 32 }, _ => stamps.Add(sw.Elapsed.TotalSeconds));
            if (i == 0) continue;
            prefill.Add(stamps[0] * 1000);
            tps.Add((stamps.Count - 1) / (stamps[^1] - stamps[0]));
        }
        Emit("decode_runs", decodes);
        Emit("decode_tps", Median(tps).ToString("F1", Inv));
        Emit("prefill_ms", Median(prefill).ToString("F0", Inv));

        // LoRA training on a random token stream: the family's defaults (Llama: q_proj, v_proj, r 8).
        var lora = model.LoraWith(model.DefaultLoraOptions);
        lora.Attach(seed: 0);
        Emit("trainable", lora.Summary());
        var tokens = Enumerable.Range(0, 4096).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
        var run = LoraFineTuner.Train(model, lora, tokens,
            new FineTuneOptions { Steps = steps + 1, SequenceLength = 256, BatchSize = 1, ValidationFraction = 0, EvalEvery = 1000 });
        var trainTps = run.Skip(1).Select(s => s.TokensPerSecond).ToList();
        Emit("train_steps", steps);
        Emit("train_tps", Median(trainTps).ToString("F0", Inv));
        Emit("train_step_s", (256 / Median(trainTps)).ToString("F2", Inv));
        p.Refresh();
        Emit("peak_rss_mb", p.PeakWorkingSet64 >> 20);
    }

    /// <summary>
    /// <c>smollm2-decode [--quick]</c>: where a batch-1 cached decode step goes. Loads the checkpoint twice (base
    /// f32 and base bf16), decodes 32 tokens with each in turn (alternating, so both see the same machine load), then
    /// profiles 32 cached f32 steps per op (OpProfiler) and times the single-row projections of one layer alone.
    /// </summary>
    public static void Decode(bool quick)
    {
        string dir = EnsureCheckpoint();
        var f32 = HfModels.Load(dir);
        var bf16 = HfModels.Load(dir, LoraGen.Nn.BaseFormat.BF16);
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, 16).Select(_ => rng.Next(f32.Config.VocabSize)).ToArray();
        double Tps(CausalLmModule m)
        {
            var lm = new ManagedCausalLm(m, capacity: 64);
            var stamps = new List<double>();
            var sw = Stopwatch.StartNew();
            TextGenerator.Generate(lm, prompt, new SamplingOptions { MaxNewTokens = 32 }, _ => stamps.Add(sw.Elapsed.TotalSeconds));
            return (stamps.Count - 1) / (stamps[^1] - stamps[0]);
        }
        Tps(f32);
        Tps(bf16);   // warm-up
        var a = new List<double>();
        var b = new List<double>();
        for (int i = 0; i < (quick ? 1 : 3); i++)
        {
            a.Add(Tps(f32));
            b.Add(Tps(bf16));
        }
        Console.WriteLine(FormattableString.Invariant($"decode tokens/s, alternating runs: base f32 {Median(a):F1} [{string.Join(", ", a.Select(x => x.ToString("F1", Inv)))}], base bf16 {Median(b):F1} [{string.Join(", ", b.Select(x => x.ToString("F1", Inv)))}], ratio bf16/f32 {Median(b) / Median(a):F2}"));

        // Per-op profile of 32 cached f32 steps.
        var cache = f32.NewCache(64);
        using (LoraGen.Autograd.GradMode.NoGrad())
        {
            f32.Forward(prompt, 1, prompt.Length, cache);
            LoraGen.Autograd.OpProfiler.Enabled = true;
            LoraGen.Autograd.OpProfiler.Reset();
            var step = Stopwatch.StartNew();
            for (int i = 0; i < 32; i++) f32.Forward([prompt[i % prompt.Length]], 1, 1, cache);
            double ms = step.Elapsed.TotalMilliseconds / 32;
            LoraGen.Autograd.OpProfiler.Enabled = false;
            Console.WriteLine(FormattableString.Invariant($"32 cached f32 decode steps, {ms:F1} ms/step; the profile's totals are for all 32 steps:"));
            Console.Write(LoraGen.Autograd.OpProfiler.Report());

            // One layer's projections for one row (m = 1) vs 16 rows (m = 16), same weights: GFLOP/s of each.
            var x1 = LoraGen.Tensors.Tensor.FromArray(new float[576], 1, 1, 576);
            var x16 = LoraGen.Tensors.Tensor.FromArray(new float[16 * 576], 1, 16, 576);
            var w = LoraGen.Tensors.Tensor.FromArray(new float[1536 * 576], 1536, 576);
            double Gflops(LoraGen.Tensors.Tensor x, int reps)
            {
                x.Linear(w);
                var t = Stopwatch.StartNew();
                for (int r = 0; r < reps; r++) x.Linear(w);
                return 2.0 * x.Dim(1) * 1536 * 576 * reps / t.Elapsed.TotalSeconds / 1e9;
            }
            double g1 = Gflops(x1, 200), g16 = Gflops(x16, 50), g1b = Gflops(x1, 200), g16b = Gflops(x16, 50);
            Console.WriteLine(FormattableString.Invariant($"Linear 576→1536 (fp32 weight, alternating): m = 1 {g1:F2} / {g1b:F2} GFLOP/s, m = 16 {g16:F2} / {g16b:F2} GFLOP/s"));
        }
    }

    private static void Emit(string key, object value) => Console.WriteLine(FormattableString.Invariant($"{key}={value}"));

    private static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
