using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Optim;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Spectre.Console;
using TinyGpt.Lora;
using TinyGpt.Lora.Model;

// dotnet run --project samples/TinyGpt.Lora -c Release [-- --quick] [--out DIR] [--pretrain-steps N] [--lora-steps N]
//     [--method lora|dora|pissa|olora|qlora|lora-fa|vera|nola|lora-int8] [--loraplus-ratio X] [--base FILE]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
SampleOptions options;
try { options = SampleOptions.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
bool quick = options.Quick;
var method = options.Method;
string outDir = options.OutDir;
var clock = Stopwatch.StartNew();
Directory.CreateDirectory(outDir);
// NO_COLOR (https://no-color.org) or output into a file or pipe: plain text, no escape codes, no live progress bars.
if (Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 } || Console.IsOutputRedirected)
    AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
        Out = new AnsiConsoleOutput(Console.Out),
    });
if (!AnsiConsole.Profile.Capabilities.Interactive) AnsiConsole.Profile.Width = 240;   // a file has no width to wrap at

// The two texts (generated from templates, nothing downloaded) and one word-level vocabulary over both: like a real
// base model's tokenizer, it knows words the base model has (almost) never seen used.
string textA = Corpus.Prose(quick ? 3000 : 12000, seed: 1), textB = Corpus.Verse4(quick ? 1000 : 2500, seed: 2);
var tokenizer = WordTokenizer.FromTexts(textA, textB);
var config = quick ? new GptConfig(tokenizer.Vocab, Dim: 64, Layers: 2, Heads: 2, Context: 32) : new GptConfig(tokenizer.Vocab, Context: 64);
int batch = quick ? 8 : 16;
var wordsOfB = WordTokenizer.Words(textB).ToHashSet(StringComparer.OrdinalIgnoreCase);
AnsiConsole.MarkupLine($"[bold]LoraGen TinyGpt[/] — d {config.Dim}, {config.Layers} layers, {config.Heads} heads, context {config.Context}, vocab {config.Vocab} words and marks, batch {batch}{(quick ? " [yellow](--quick)[/]" : "")}");

// 1. Pre-train the base model on corpus A (plain prose) and save it (or, with --base, load one pre-trained before).
var corpusA = new Dataset(tokenizer.Encode(textA));
var corpusB = new Dataset(tokenizer.Encode(textB));
var model = new Gpt(config, new Rng(1337));
Console.WriteLine($"base model: {model.ParameterCount():N0} parameters");
List<float> pretrainLosses = [];
string basePath = options.BasePath ?? Path.Combine(outDir, "base.safetensors");
if (options.BasePath is not null)
{
    model.LoadWeights(basePath);
    Console.WriteLine($"pre-trained base loaded: {basePath}");
}
else
{
    pretrainLosses = Training.Run("pre-train on A", model, new AdamW(model.Parameters(), lr: 3e-3f, weightDecay: 0.01f), corpusA, options.PretrainSteps, batch, new Rng(10));
    model.SaveWeights(basePath);
    Console.WriteLine($"pre-training loss: {Average(pretrainLosses.Take(5)):F3} -> {Average(pretrainLosses.TakeLast(5)):F3}");
}
float valA = Training.Evaluate(model, corpusA, 4, batch, seed: 5);
float baseValB = Training.Evaluate(model, corpusB, 4, batch, seed: 6);
Console.WriteLine($"pre-trained: validation loss A {valA:F3}, B {baseValB:F3} — saved {basePath}");
// Fixed ids and the base model's logits, for the PyTorch/PEFT cross-check (tests/interop/peft_check.py).
var checkIds = tokenizer.Encode(Corpus.Verse4(4, seed: 99))[..config.Context];
var baseCheckLogits = Logits(model, checkIds);
const string prompt = "O Moon,";
const int sampleTokens = 60;
var (before, _) = Training.Generate(model, tokenizer, prompt, sampleTokens, 0.7f, seed: 42);
Print("sample before LoRA", before);

// 2. Attach LoRA: [Lora(Rank = 8, Alpha = 16)] on q_proj and v_proj, in the model's code; --method changes it at run
//    time through the override (DoRA, PiSSA/OLoRA init, LoRA-FA) or the base format (QLoRA: NF4).
Console.WriteLine($"method: {method.Name} — {method.Description}");
model.Lora.Attach(config: method.Override);
if (method.BaseFormat != BaseFormat.Fp32)
    Console.WriteLine($"frozen base: {model.CastFrozenBase(method.BaseFormat)} Linear layers cast to {method.BaseFormat}");
Console.WriteLine(model.Lora.Summary());
string baseHash = Hash(model);
float attachedValB = Training.Evaluate(model, corpusB, 4, batch, seed: 6);
Console.WriteLine($"validation loss on B right after attach: {attachedValB:F3} (base {baseValB:F3})");

// 3. Fine-tune the adapters on corpus B (archaic verse); --loraplus-ratio: B learns that many times faster than A.
float loraLr = 1e-2f * method.LrFactor;   // VeRA: 10×
var optimizer = options.LoraPlusRatio is { } ratio
    ? LoraPlus.CreateOptimizer(model.Lora, lr: loraLr, lrRatio: ratio)
    : new AdamW(model.Lora.Parameters(), lr: loraLr, weightDecay: 0f);
if (options.LoraPlusRatio is not null)
    Console.WriteLine($"LoRA+ optimizer: {string.Join(", ", optimizer.Groups.Select(g => $"{g.Name} lr {g.Lr:G3} ({g.Params.Count} tensors)"))}");
var loraClock = Stopwatch.StartNew();
MemoryReport? memory = null;
var loraLosses = Training.Run("LoRA on B", model, optimizer, corpusB, options.LoraSteps, batch, new Rng(20),
    onSecondStep: loss => memory = model.Lora.MemoryReport(optimizer, loss));
double stepMs = loraClock.Elapsed.TotalMilliseconds / options.LoraSteps;
long peakBytes = Process.GetCurrentProcess().PeakWorkingSet64;   // the process's peak so far: loading (or pre-training) and fine-tuning
if (memory is not null) Console.Write($"training memory (second step, before backward; model.Lora.MemoryReport):\n{memory}");
Console.WriteLine($"LoRA training loss: {Average(loraLosses.Take(5)):F3} -> {Average(loraLosses.TakeLast(5)):F3}");
float loraValB = Training.Evaluate(model, corpusB, 4, batch, seed: 6);
long trainableParams = model.Lora.Parameters().Sum(p => (long)p.Size);
Console.WriteLine($"result: method {method.Name}{(options.LoraPlusRatio is { } r ? $" + LoRA+ ratio {r:G}" : "")}, validation loss on B {loraValB:F3} after {options.LoraSteps} steps, " +
    $"step {stepMs:F1} ms, trainable params {trainableParams:N0}, peak working set {peakBytes / (1024.0 * 1024.0):F0} MiB");
bool onlyAdaptersChanged = Hash(model) == baseHash;
Console.WriteLine($"validation loss on B: base {baseValB:F3} -> after LoRA {loraValB:F3} ({100 * (1 - loraValB / baseValB):F0}% lower)");
Console.WriteLine($"base weights unchanged (only A/B trained): {(onlyAdaptersChanged ? "yes" : "NO")}{(method.RewritesBase ? " — the residual base that attach wrote" : "")}");

// 4. Save the adapter (PEFT layout), merge, save merged weights, and reload both ways.
string adapterDir = Path.Combine(outDir, "adapter");
model.Lora.Save(adapterDir);
TensorFiles.Save(Path.Combine(outDir, "check.safetensors"), new Dictionary<string, Tensor>
{
    ["ids"] = Tensor.FromArray(checkIds.Select(i => (float)i).ToArray(), 1, checkIds.Length),
    ["logits_base"] = baseCheckLogits,
    ["logits_lora"] = Logits(model, checkIds),
});
Console.WriteLine($"adapter saved: {adapterDir}/{AdapterKeys.WeightsFile} + {AdapterKeys.ConfigFile}");
var (after, logitsUnmerged) = Training.Generate(model, tokenizer, prompt, sampleTokens, 0.7f, seed: 42);
// A low-precision base goes back to fp32 (its dequantized values, exactly) before merging: merging into NF4 would
// re-quantize W + ΔW, which is lossy (MergeAndUnload lists such layers in Lora.RequantizedLayers).
if (method.BaseFormat != BaseFormat.Fp32)
    Console.WriteLine($"base widened back to fp32 for an exact merge: {model.Lora.Quantize(BaseFormat.Fp32)} Linear layers");
model.Lora.Merge();
var (afterMerged, logitsMerged) = Training.Generate(model, tokenizer, prompt, sampleTokens, 0.7f, seed: 42);
string mergedPath = Path.Combine(outDir, "merged.safetensors");
model.Lora.MergeAndUnload();   // a merged model is saved as a plain one (SaveWeights refuses while adapters are merged)
model.SaveWeights(mergedPath);

var viaAdapter = new Gpt(config, new Rng(7));
viaAdapter.LoadWeights(basePath);
viaAdapter.Lora.Load(adapterDir);
if (method.BaseFormat != BaseFormat.Fp32) viaAdapter.CastFrozenBase(method.BaseFormat);   // the adapter was trained on that base
var (reloadedAdapter, _) = Training.Generate(viaAdapter, tokenizer, prompt, sampleTokens, 0.7f, seed: 42);
var viaMerged = new Gpt(config, new Rng(8));
viaMerged.LoadWeights(mergedPath);
var (reloadedMerged, _) = Training.Generate(viaMerged, tokenizer, prompt, sampleTokens, 0.7f, seed: 42);

float maxDelta = logitsUnmerged.Zip(logitsMerged, (a, b) => Math.Abs(a - b)).Max();
Console.WriteLine($"merged vs unmerged: max |Δlogit| = {maxDelta:E1}");
bool identical;
if (!method.QuantizesActivations)
{
    identical = after == afterMerged && after == reloadedAdapter && after == reloadedMerged;
    Console.WriteLine($"identical generations (unmerged, merged, base+adapter reloaded, merged reloaded): {(identical ? "yes" : "NO")}");
}
else
{
    // An int8 base also quantizes the activations, per token: the merged fp32 model agrees with it only within that
    // error (the Δlogit above), so each is compared with its own reload.
    identical = after == reloadedAdapter && afterMerged == reloadedMerged;
    Console.WriteLine($"identical generations (unmerged and base+adapter reloaded on the {method.BaseFormat} base; merged and merged reloaded): {(identical ? "yes" : "NO")}");
}
Print("sample after LoRA", after);
double shareBefore = ShareOfWordsIn(before, prompt, wordsOfB), shareAfter = ShareOfWordsIn(after, prompt, wordsOfB);
Console.WriteLine($"generated words found in corpus B (the LoRA text): before LoRA {100 * shareBefore:F0}%, after LoRA {100 * shareAfter:F0}%");

// 5. The loss curve.
string chartPath = Path.Combine(outDir, "loss.svg");
LossChart.Write(chartPath, pretrainLosses, loraLosses, baseValB, loraValB, method.Name);
Console.WriteLine($"loss curve: {chartPath}");
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F0} s");
return onlyAdaptersChanged && identical && loraValB < baseValB ? 0 : 1;

// The share of the words generated after the prompt that occur (in any case) in the given vocabulary.
static double ShareOfWordsIn(string generated, string prompt, HashSet<string> vocabulary)
{
    var words = WordTokenizer.Words(generated[prompt.Length..]).ToList();
    return words.Count == 0 ? 0 : (double)words.Count(vocabulary.Contains) / words.Count;
}

static Tensor Logits(Gpt m, int[] ids)
{
    using var _ = LoraGen.Autograd.GradMode.NoGrad();
    m.Eval();
    var logits = m.Forward(ids, 1, ids.Length);
    m.Train();
    return logits;
}

static double Average(IEnumerable<float> xs) => xs.Average(x => (double)x);

static string Hash(Module m)
{
    using var sha = SHA256.Create();
    foreach (var (_, p) in m.StateDict())
    {
        var bytes = MemoryMarshal.AsBytes(p.Data).ToArray();
        sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
    }
    sha.TransformFinalBlock([], 0, 0);
    return Convert.ToHexString(sha.Hash!);
}

static void Print(string title, string text)
{
    Console.WriteLine($"--- {title} ---");
    Console.WriteLine(text.TrimEnd());
    Console.WriteLine("---");
}
