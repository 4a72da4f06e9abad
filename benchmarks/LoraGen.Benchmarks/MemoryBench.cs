using System.Diagnostics;
using System.Globalization;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Plotting;
using LoraGen.Tensors;
using TinyGpt.Lora.Model;

namespace LoraGen.Benchmarks;

/// <summary>
/// Peak memory of one training step per fine-tuning method, each in a fresh child process (so peaks do not mix),
/// next to the seed's formulas and the facade's <see cref="LoraModelController.MemoryReport"/>. A method is one line in
/// <see cref="Methods"/>: how to prepare the model, and what the optimizer trains.
/// </summary>
public static class MemoryBench
{
    /// <summary>A fine-tuning method: its name, how it prepares a fresh model, and the parameters it trains.</summary>
    private sealed record Method(string Name, Action<Gpt> Prepare, Func<Gpt, IEnumerable<Tensor>> Trained);

    /// <summary>The methods measured, one line each (VeRA and NoLA with the sample's settings: r 256; k 64 + 64 at r 8).</summary>
    private static readonly Method[] Methods =
    [
        new("full", _ => { }, m => m.Parameters()),
        new("lora", m => m.Lora.Attach(), m => m.Lora.Parameters()),
        new("lora-fa", m => m.Lora.Attach(config: new LoraOverride { FreezeA = true }), m => m.Lora.Parameters()),
        new("qlora", m => { m.Lora.Attach(); m.Lora.Quantize(BaseFormat.NF4); }, m => m.Lora.Parameters()),
        new("vera", m => m.Lora.Attach(config: new LoraOverride { Variant = LoraVariant.Vera, R = VeraRank }), m => m.Lora.Parameters()),
        new("nola", m => m.Lora.Attach(config: new LoraOverride { Variant = LoraVariant.Nola, NumBasisA = NolaK, NumBasisB = NolaK }), m => m.Lora.Parameters()),
    ];

    /// <summary>The model shapes: the TinyGpt sample's, and a d 768 one (GPT-2 small's width and heads, 6 layers).</summary>
    private static readonly (string Name, GptConfig Config, int Batch, int Seq)[] Shapes =
    [
        ("tinygpt", new GptConfig(), 16, 128),
        ("d768", new GptConfig(Vocab: 96, Dim: 768, Layers: 6, Heads: 12, Context: 128), 8, 128),
    ];

    /// <summary>
    /// Shapes a child runs on request (<c>memory-mode SHAPE METHOD</c>) that the table leaves out: the scale benchmark's
    /// d 768 / T 512 (4 layers, batch 4), for profiling a step with <c>LORAGEN_PROFILE=1</c>.
    /// </summary>
    private static readonly (string Name, GptConfig Config, int Batch, int Seq)[] ProbeShapes =
    [
        ("d768t512", new GptConfig(Vocab: 96, Dim: 768, Layers: 4, Heads: 12, Context: 512), 4, 512),
    ];

    private const int Rank = 8;   // the sample's [Lora(Rank = 8)] on q_proj and v_proj
    private const int VeraRank = 256;   // the sample's --method vera
    private const int NolaK = 64;       // the sample's --method nola: k_A = k_B = 64

    /// <summary>Child: builds the model for <paramref name="shape"/>, prepares <paramref name="method"/>, runs two training steps, prints key=value lines.</summary>
    public static void RunMode(string shape, string method)
    {
        var (_, cfg, b, t) = Shapes.Concat(ProbeShapes).Single(s => s.Name == shape);
        var m = Methods.Single(x => x.Name == method);
        var rng = new Rng(0);
        var x = new int[b * t];
        var y = new int[b * t];
        for (int i = 0; i < x.Length; i++) { x[i] = rng.NextInt(cfg.Vocab); y[i] = rng.NextInt(cfg.Vocab); }
        var model = new Gpt(cfg, new Rng(1));
        m.Prepare(model);
        var opt = new AdamW(m.Trained(model).ToList(), lr: 1e-4f);
        GC.Collect();
        long before = Process.GetCurrentProcess().WorkingSet64;
        MemoryReport? report = null;
        double stepMs = 0;
        for (int step = 0; step < 2; step++)   // the second step runs with the optimizer's state allocated
        {
            if (step == 1) OpProfiler.Reset();
            var clock = Stopwatch.StartNew();
            opt.ZeroGrad();
            var loss = model.Forward(x, b, t).CrossEntropy(y);
            if (step == 1) report = model.Lora.MemoryReport(opt, loss);
            loss.Backward();
            opt.Step();
            stepMs = clock.Elapsed.TotalMilliseconds;   // the second step's (its MemoryReport call included)
        }
        var after = model.Lora.MemoryReport(opt);   // gradients and state as they stand after the step
        Console.WriteLine($"p_base={model.Parameters(includeAdapters: false).Sum(p => (long)p.Size)}");
        Console.WriteLine($"p_linear={model.NamedModules().Select(nm => nm.Module).OfType<Linear>().Sum(l => (long)l.Weight.Size)}");
        var inv = CultureInfo.InvariantCulture;
        void Put(string key, double value) => Console.WriteLine(string.Create(inv, $"{key}={value:F2}"));
        const double MB = 1 << 20;
        Put("step_ms", stepMs);
        Put("rss_before_mb", before / MB);
        Put("peak_rss_mb", Process.GetCurrentProcess().PeakWorkingSet64 / MB);
        Put("base_mb", after.BaseBytes / MB);
        Put("adapter_mb", (after.AdapterBytes + after.FrozenAdapterBytes) / MB);
        Put("grad_mb", after.GradientBytes / MB);
        Put("optim_mb", after.OptimizerStateBytes / MB);
        Put("saved_mb", (report!.SavedActivationBytes ?? 0) / MB);
        Put("graph_mb", (report.GraphHeldBytes ?? 0) / MB);
        Put("report_total_mb", (after.TotalBytes + (report.SavedActivationBytes ?? 0)) / MB);
    }

    /// <summary>
    /// The seed's parameter-memory formulas (MB, fp32) over the model: full Adam 4·P; LoRA P + 4·Σr(d₁+d₂); LoRA-FA
    /// P + Σ(4·r·d₁ + r·d₂) (B trained, A frozen); QLoRA as LoRA with the Linear weights at NF4's 4.127 bits. P counts
    /// every base parameter (printed by the child); the sums run over the adapted layers, q and v (d × d) of each block.
    /// VeRA P + 4·Σ(r + d₁) and NoLA P + 4·Σ(k_A + k_B): the seed counts only what trains, not the frozen random
    /// projections/bases, which the report includes.
    /// </summary>
    private static double FormulaMb(string method, GptConfig c, double p, double linear)
    {
        double d = c.Dim, adapted = 2 * c.Layers, r = Rank;
        double loraExtra = adapted * 4 * r * (d + d), faExtra = adapted * (4 * r * d + r * d);
        double floats = method switch
        {
            "full" => 4 * p,
            "lora" => p + loraExtra,
            "lora-fa" => p + faExtra,
            "qlora" => linear * 4.127 / 32 + (p - linear) + loraExtra,
            "vera" => p + adapted * 4 * (VeraRank + d),
            "nola" => p + adapted * 4 * (NolaK + NolaK),
            _ => double.NaN,
        };
        return floats * 4 / (1 << 20);
    }

    /// <summary>The seed's activation formula for the adapters' own saved tensors: Σ (d₂ + r)·n for LoRA, Σ r·n for LoRA-FA.</summary>
    private static double AdapterActivationMb(string method, GptConfig c, int n) => method switch
    {
        "lora" or "qlora" => 2.0 * c.Layers * (c.Dim + Rank) * n * 4 / (1 << 20),
        "lora-fa" => 2.0 * c.Layers * Rank * n * 4 / (1 << 20),
        _ => 0,
    };

    /// <summary>Parent: every shape × method in a child process, then the table and benchmarks/memory.svg.</summary>
    public static void Compare(string repoRoot)
    {
        var self = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var dll = typeof(MemoryBench).Assembly.Location;
        var inv = CultureInfo.InvariantCulture;
        var results = new Dictionary<(string, string), Dictionary<string, string>>();
        foreach (var (shape, _, _, _) in Shapes)
            foreach (var m in Methods)
            {
                Console.Error.WriteLine($"running {shape} {m.Name} ...");
                results[(shape, m.Name)] = TinyGptBench.Run(self, $"\"{dll}\" memory-mode {shape} {m.Name}").ToDictionary(kv => kv.Item1, kv => kv.Item2);
            }
        double Get(string shape, string method, string key) =>
            results[(shape, method)].TryGetValue(key, out var v) && double.TryParse(v, inv, out var d) ? d : double.NaN;

        Console.WriteLine($"Peak memory of a training step (AdamW), one child process per row, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; MB");
        Console.WriteLine("| shape | method | peak RSS | RSS before step | params+grads+optim (report) | same, seed formula | saved activations (report) | adapters' own activations, formula | held by the graph | report total |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (shape, cfg, b, t) in Shapes)
            foreach (var m in Methods)
            {
                double pgo = Get(shape, m.Name, "base_mb") + Get(shape, m.Name, "adapter_mb") + Get(shape, m.Name, "grad_mb") + Get(shape, m.Name, "optim_mb");
                Console.WriteLine(string.Create(inv,
                    $"| {shape} (b {b}, t {t}) | {m.Name} | {Get(shape, m.Name, "peak_rss_mb"):F0} | {Get(shape, m.Name, "rss_before_mb"):F0} | {pgo:F1} | {FormulaMb(m.Name, cfg, Get(shape, m.Name, "p_base"), Get(shape, m.Name, "p_linear")):F1} | {Get(shape, m.Name, "saved_mb"):F1} | {AdapterActivationMb(m.Name, cfg, b * t):F1} | {Get(shape, m.Name, "graph_mb"):F1} | {Get(shape, m.Name, "report_total_mb"):F1} |"));
            }
        var svg = Path.Combine(repoRoot, "benchmarks", "memory.svg");
        var categories = Shapes.SelectMany(s => Methods.Select(m => $"{s.Name} {m.Name}")).ToArray();
        double[] Series(Func<string, GptConfig, string, double> f) => [.. Shapes.SelectMany(s => Methods.Select(m => f(s.Name, s.Config, m.Name)))];
        BarChart.Save(svg, "Training-step memory per method (MB)", "MB", categories,
        [
            ("peak RSS (measured)", Series((s, _, m) => Get(s, m, "peak_rss_mb"))),
            ("MemoryReport total", Series((s, _, m) => Get(s, m, "report_total_mb"))),
            ("seed formula: params + grads + optimizer", Series((s, c, m) => FormulaMb(m, c, Get(s, m, "p_base"), Get(s, m, "p_linear")))),
        ], width: 1000, height: 480);
        Console.WriteLine($"chart: {svg}");
    }
}
