using System.Diagnostics;
using System.Globalization;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.Tensors;
using TinyGpt.Lora.Model;

namespace LoraGen.Benchmarks;

/// <summary>
/// <c>mixed-batch</c>: serving 8 fine-tunes of one base (the S-LoRA/Punica case) on the sample's TinyGpt (d 256,
/// 4 layers, LoRA r 8 on q and v). 16 requests, 2 per adapter, answered either as one mixed batch (PEFT's
/// <c>adapter_names=</c>: the base GEMMs once over 16 rows, each adapter on its own 2 rows) or as 8 separate passes,
/// one per adapter (SetActive, then a forward over that adapter's 2 rows). The base model alone is timed too, over the
/// 16 rows at once (the floor of the mixed batch) and in 8 passes of 2 rows (the floor of the separate passes), so that
/// what batching itself gains or loses on this machine shows apart from the adapters. Inference (no gradients), one thread of work per call as the runtime schedules it; the
/// three are timed in turn, round after round, so that JIT tiering and machine noise hit them alike; medians.
/// The last line is one machine-readable record.
/// </summary>
public static class MixedBatchBench
{
    private const int Adapters = 8, Batch = 16, T = 128, Warmup = 3, Rounds = 15;

    /// <summary>Runs the comparison and prints a table and a final <c>mixed_batch ...</c> line.</summary>
    public static void Run()
    {
        var cfg = new GptConfig();
        var model = new Gpt(cfg, new Rng(1));
        var names = Enumerable.Range(0, Adapters).Select(i => $"a{i}").ToArray();
        for (int i = 0; i < Adapters; i++) model.Lora.Attach(names[i], seed: (ulong)i + 1);
        var rng = new Rng(2);
        var bKeys = names.Select(n => "." + AdapterKeys.ModuleB(n, LayerKind.Linear)).ToArray();
        foreach (var (name, p) in model.NamedParameters())
            if (bKeys.Any(k => name.EndsWith(k, StringComparison.Ordinal))) rng.FillNormal(p.Data, 0, 0.05f);   // B ≠ 0: each adapter changes the output
        model.Eval();
        var ids = new int[Batch * T];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(cfg.Vocab);
        var rowAdapters = Enumerable.Range(0, Batch).Select(b => names[b * Adapters / Batch]).ToArray();   // a0 a0 a1 a1 … a7 a7
        int perAdapter = Batch / Adapters;

        using var _ = GradMode.NoGrad();
        Tensor Mixed()
        {
            using var scope = model.Lora.MixedBatch(rowAdapters);
            return model.Forward(ids, Batch, T);
        }
        Tensor[] Separate()
        {
            var outs = new Tensor[Adapters];
            for (int a = 0; a < Adapters; a++)
            {
                model.Lora.SetActive(names[a]);
                outs[a] = model.Forward(ids.AsSpan(a * perAdapter * T, perAdapter * T).ToArray(), perAdapter, T);
            }
            return outs;
        }
        Tensor BaseOnly()
        {
            using var off = model.Lora.Disable();
            return model.Forward(ids, Batch, T);
        }
        void BaseInPasses()
        {
            using var off = model.Lora.Disable();
            for (int a = 0; a < Adapters; a++) model.Forward(ids.AsSpan(a * perAdapter * T, perAdapter * T).ToArray(), perAdapter, T);
        }

        // The two ways agree row for row (what the runtime's mixed-batch tests check to 1e-6, here on the benchmark's shape).
        var mixed = Mixed().ToArray();
        var separate = Separate().SelectMany(t => t.ToArray()).ToArray();
        double maxDiff = mixed.Zip(separate, (p, q) => Math.Abs((double)p - q)).Max();
        double adapterEffect = mixed.Zip(BaseOnly().ToArray(), (p, q) => Math.Abs((double)p - q)).Max();   // > 0: the adapters do change the output

        List<double> tMixed = [], tSeparate = [], tBase = [], tBasePasses = [];
        for (int round = 0; round < Warmup + Rounds; round++)
        {
            double m = Time(() => Mixed()), s = Time(() => Separate()), b = Time(() => BaseOnly()), bp = Time(BaseInPasses);
            if (round < Warmup) continue;
            tMixed.Add(m);
            tSeparate.Add(s);
            tBase.Add(b);
            tBasePasses.Add(bp);
        }
        double mixedMs = Median(tMixed), separateMs = Median(tSeparate), baseMs = Median(tBase), basePassesMs = Median(tBasePasses);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"TinyGpt (d {cfg.Dim}, {cfg.Layers} layers, context {T}), {Adapters} LoRA adapters (r 8, q/v), {Batch} requests ({perAdapter} per adapter), " +
            $"{Environment.ProcessorCount} cores; medians of {Rounds} alternating rounds after {Warmup} warm-up rounds");
        Console.WriteLine("| way | forward ms (median) | vs mixed |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(string.Create(inv, $"| one mixed batch ({Batch} rows, adapter per row) | {mixedMs:F1} | 1.00× |"));
        Console.WriteLine(string.Create(inv, $"| {Adapters} separate passes ({perAdapter} rows each, SetActive) | {separateMs:F1} | {separateMs / mixedMs:F2}× |"));
        Console.WriteLine(string.Create(inv, $"| base model alone, {Batch} rows at once (no adapter; the mixed batch's floor) | {baseMs:F1} | {baseMs / mixedMs:F2}× |"));
        Console.WriteLine(string.Create(inv, $"| base model alone, {Adapters} passes of {perAdapter} rows (the separate passes' floor) | {basePassesMs:F1} | {basePassesMs / mixedMs:F2}× |"));
        Console.WriteLine(string.Create(inv, $"mixed vs separate: max |Δlogit| = {maxDiff:E1}; mixed vs base model: max |Δlogit| = {adapterEffect:E1} (the adapters' effect)"));
        Console.WriteLine(string.Create(inv,
            $"mixed_batch adapters={Adapters} batch={Batch} t={T} mixed_ms={mixedMs:F2} separate_ms={separateMs:F2} base_ms={baseMs:F2} base_passes_ms={basePassesMs:F2} " +
            $"separate_over_mixed={separateMs / mixedMs:F3} max_abs_diff={maxDiff:E2} adapter_effect={adapterEffect:E2}"));
    }

    private static double Time(Action work)
    {
        var sw = Stopwatch.StartNew();
        work();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
