using System.Diagnostics;
using System.Globalization;
using LoraGen.Autograd;
using LoraGen.Ops;
using TorchSharp;
using static TorchSharp.torch;
using ManagedGpt = TinyGpt.Lora.Model.Gpt;
using ManagedGptConfig = TinyGpt.Lora.Model.GptConfig;
using ManagedTensor = LoraGen.Tensors.Tensor;
using Rng = LoraGen.Tensors.Rng;
using Tensor = TorchSharp.torch.Tensor;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// <c>small-work [--quick]</c>: where a batch-1 TinyGpt forward (T 128, and the 65-token decode step) spends its time,
/// op by op, in LoraGen and in libtorch (TorchSharp), in one process. Each kernel is timed in isolation at the shapes
/// the forward runs it at (median of many calls, µs; the two sides alternate in blocks with a pause between them, so
/// that machine noise hits both alike and neither side's spinning idle workers take the other's core), then the whole
/// forward; with <c>LORAGEN_PROFILE=1</c> the managed forward's per-op table (per forward) follows.
/// </summary>
public static class SmallWorkBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// <c>small-work --batch-scaling</c>: the managed base model over 16 × 128 rows at once against 8 passes of 2 × 128
    /// rows (the two floors of <c>mixed-batch</c>), one op-profiler table per forward for each, so that what grows faster
    /// than the rows shows op by op.
    /// </summary>
    public static void BatchScaling(int reps = 5)
    {
        var cfg = new ManagedGptConfig();
        var model = new ManagedGpt(cfg, new Rng(1));
        model.Eval();
        var rng = new Rng(2);
        var ids = new int[16 * 128];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(cfg.Vocab);
        using var noGrad = GradMode.NoGrad();
        foreach (var (label, passes, batch) in new[] { ("16 rows at once", 1, 16), ("8 passes of 2 rows", 8, 2) })
        {
            void Forward()
            {
                for (int p = 0; p < passes; p++) model.Forward(ids.AsSpan(p * batch * 128, batch * 128).ToArray(), batch, 128);
            }
            Forward();
            OpProfiler.Reset();
            OpProfiler.Enabled = true;
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) { Forward(); OpProfiler.StepEnded(); }
            OpProfiler.Enabled = false;
            Console.WriteLine($"base model, {label}: {(sw.Elapsed.TotalMilliseconds / reps).ToString("F1", Inv)} ms per 2,048 tokens (mean of {reps}); per 2,048 tokens:");
            Console.WriteLine(OpProfiler.Report());
        }
    }

    /// <summary>Runs the comparison.</summary>
    public static void Run(bool quick)
    {
        int reps = quick ? 60 : 200;
        torch.set_num_threads(Environment.ProcessorCount);
        Console.WriteLine($"small-work: {Environment.ProcessorCount} threads each side, libtorch via TorchSharp {typeof(torch).Assembly.GetName().Version}; medians of {reps} calls, sides alternating in blocks (µs)");
        Console.WriteLine("| kernel | shape | LoraGen µs | TorchSharp µs | ratio | LoraGen gen-0 / gen-2 GCs per call |");
        Console.WriteLine("|---|---|---|---|---|---|");
        using var noGrad = GradMode.NoGrad();
        using var tsNoGrad = no_grad();
        foreach (int m in new[] { 128, 65 })
        {
            Linear(m, 256, 256, reps, "q/k/v/o");
            Linear(m, 1024, 256, reps, "fc");
            Linear(m, 256, 1024, reps, "proj");
            Linear(m, 96, 256, reps, "lm_head");
            Attention(m, reps);
            LayerNorm(m, reps);
            Gelu(m, reps);
            Add(m, reps);
        }
        CrossEntropy(reps);
        AdamWStep(reps);
        Model(quick);
    }

    private static void Linear(int m, int n, int k, int reps, string label)
    {
        var x = Random(m * k, m, k);
        var w = Random(n * k, n, k);
        var b = Random(n, n);
        using var tx = Torch(x);
        using var tw = Torch(w);
        using var tb = Torch(b);
        Compare($"linear {label}", $"{m}×{k} · ({n}×{k})ᵀ", reps, () => x.Linear(w, b), () => nn.functional.linear(tx, tw, tb).Dispose());
    }

    private static void Attention(int t, int reps)
    {
        var q = Random(t * 256, 1, t, 256);
        var k = Random(t * 256, 1, t, 256);
        var v = Random(t * 256, 1, t, 256);
        using var tq = Torch(q).reshape(1, t, 4, 64).permute(0, 2, 1, 3);
        using var tk = Torch(k).reshape(1, t, 4, 64).permute(0, 2, 1, 3);
        using var tv = Torch(v).reshape(1, t, 4, 64).permute(0, 2, 1, 3);
        Compare("causal attention", $"B 1, H 4, T {t}, D 64", reps, () => AttentionOps.MultiHeadAttention(q, k, v, 4),
            () =>
            {
                using var y = nn.functional.scaled_dot_product_attention(tq, tk, tv, is_casual: true);
                y.permute(0, 2, 1, 3).reshape(1, t, 256).Dispose();
            });
    }

    private static void LayerNorm(int m, int reps)
    {
        var x = Random(m * 256, m, 256);
        var w = Random(256, 256);
        var b = Random(256, 256);
        using var tx = Torch(x);
        using var tw = Torch(w);
        using var tb = Torch(b);
        Compare("layer norm", $"{m}×256", reps, () => x.LayerNorm(w, b), () => nn.functional.layer_norm(tx, [256], tw, tb).Dispose());
    }

    private static void Gelu(int m, int reps)
    {
        var x = Random(m * 1024, m, 1024);
        using var tx = Torch(x);
        Compare("gelu (tanh)", $"{m}×1024", reps, () => x.Gelu(GeluApproximation.Tanh),
            () => nn.functional.gelu(tx, TorchSharp.Modules.GELU.Approximate.tanh).Dispose());
    }

    private static void Add(int m, int reps)
    {
        var a = Random(m * 256, m, 256);
        var b = Random(m * 256, m, 256);
        using var ta = Torch(a);
        using var tb = Torch(b);
        Compare("add", $"{m}×256", reps, () => a.Add(b), () => ta.add(tb).Dispose());
    }

    /// <summary>Softmax + cross-entropy over a training step's logits (16 × 128 rows, vocab 96), mean over rows.</summary>
    private static void CrossEntropy(int reps)
    {
        const int rows = 16 * 128, vocab = 96;
        var logits = Random(rows * vocab, rows, vocab);
        var rng = new Rng(3);
        var targets = Enumerable.Range(0, rows).Select(_ => rng.NextInt(vocab)).ToArray();
        using var tl = Torch(logits);
        using var tt = tensor(targets.Select(t => (long)t).ToArray(), [rows]);
        Compare("softmax-cross-entropy", $"{rows}×{vocab}", reps, () => logits.CrossEntropy(targets), () => nn.functional.cross_entropy(tl, tt).Dispose());
    }

    /// <summary>One AdamW step over TinyGpt's 3.24 M parameters (full fine-tuning's optimizer work), gradients fixed.</summary>
    private static void AdamWStep(int reps)
    {
        int[][] shapes = [[96, 256], [128, 256], .. Enumerable.Range(0, 4).SelectMany(_ => new int[][] { [256], [256], [256, 256], [256], [256, 256], [256], [256, 256], [256], [256, 256], [256], [256], [256], [1024, 256], [1024], [256, 1024], [256] }), [256], [256], [96, 256], [96]];
        var ours = shapes.Select(sh => Random(sh.Aggregate(1, (a, b) => a * b), sh)).ToList();
        foreach (var p in ours) p.Grad = Random(p.Size, p.Shape.ToArray());
        var theirs = ours.Select(p => new TorchSharp.Modules.Parameter(Torch(p), requires_grad: true)).ToList();
        using (enable_grad())
            for (int i = 0; i < ours.Count; i++) (theirs[i] * Torch(ours[i].Grad!)).sum().backward();   // grad = our gradient
        var opt = new LoraGen.Optim.AdamW(ours, lr: 2e-4f);
        var tsOpt = optim.AdamW(theirs, lr: 2e-4);
        long count = ours.Sum(p => (long)p.Size);
        Compare("AdamW step", $"{count:N0} parameters", reps, () => { opt.Step(); return ours[0]; }, () => tsOpt.step());
    }

    /// <summary>The whole batch-1 forward, T 128 and 65 (the decode step), LoraGen's sample model against the peer.</summary>
    private static void Model(bool quick)
    {
        var cfg = new ManagedGptConfig();
        var model = new ManagedGpt(cfg, new Rng(1));
        model.Eval();
        var peer = new PeerGpt(BenchShape.TinyGpt.PeerConfig(rank: 0));
        peer.eval();
        var rng = new Rng(0);
        var ids = new int[128];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(cfg.Vocab);
        int reps = quick ? 40 : 120;
        Console.WriteLine();
        Console.WriteLine("| model | LoraGen ms | TorchSharp ms | ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (int t in new[] { 128, 65 })
        {
            var x = ids[..t];
            using var tx = tensor(x.Select(i => (long)i).ToArray(), [1, t]);
            var (ours, theirs) = (new List<double>(), new List<double>());
            bool profiled = OpProfiler.Enabled;
            OpProfiler.Enabled = false;
            for (int i = 0; i < reps + 10; i++)
            {
                if (i == 10 && t == 128 && profiled) { OpProfiler.Reset(); OpProfiler.Enabled = true; }
                var sw = Stopwatch.StartNew();
                model.Forward(x, 1, t);
                double a = sw.Elapsed.TotalMilliseconds;
                if (OpProfiler.Enabled) OpProfiler.StepEnded();
                sw.Restart();
                peer.call(tx).Dispose();
                double b = sw.Elapsed.TotalMilliseconds;
                if (i >= 10) { ours.Add(a); theirs.Add(b); }
            }
            if (profiled && t == 128)
            {
                OpProfiler.Enabled = false;
                Console.Error.WriteLine($"LoraGen batch-1 forward, T 128, per forward ({reps} forwards):");
                Console.Error.Write(OpProfiler.Report());
            }
            double ma = TorchSharpBench.Median(ours), mb = TorchSharpBench.Median(theirs);
            Console.WriteLine($"| batch-1 forward, T {t} | {ma.ToString("F2", Inv)} | {mb.ToString("F2", Inv)} | {(ma / mb).ToString("F2", Inv)} |");
        }
    }

    private static void Compare(string kernel, string shape, int reps, Func<ManagedTensor> ours, Action theirs)
    {
        // Warm up as long as the timed loop: the managed side's activation pool reaches its steady state (outputs reused,
        // no fresh pages) only after its first collection, and libtorch's caching allocator after its first calls.
        for (int i = 0; i < reps; i++) { ours(); theirs(); }
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        var (a, b) = AlternatingBlocks.Time(reps, () => ours(), theirs);
        double g0 = (double)(GC.CollectionCount(0) - gen0) / a.Count, g2 = (double)(GC.CollectionCount(2) - gen2) / a.Count;
        double ma = TorchSharpBench.Median(a) * 1e6, mb = TorchSharpBench.Median(b) * 1e6;   // µs
        Console.WriteLine($"| {kernel} | {shape} | {ma.ToString("F1", Inv)} | {mb.ToString("F1", Inv)} | {(ma / mb).ToString("F2", Inv)} | {g0.ToString("F2", Inv)} / {g2.ToString("F2", Inv)} |");
    }

    private static ManagedTensor Random(int size, params int[] shape)
    {
        var t = ManagedTensor.Zeros(shape);
        new Rng((ulong)size).FillNormal(t.Data, 0, 0.5f);
        return t;
    }

    private static Tensor Torch(ManagedTensor t) => tensor(t.Data.ToArray(), t.Shape.ToArray().Select(d => (long)d).ToArray());
}
