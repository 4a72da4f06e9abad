using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Torch;
using TinyGpt.Lora;
using TinyGpt.TorchSharp.Model;
using TorchSharp;
using static TorchSharp.torch;

// dotnet run --project samples/TinyGpt.TorchSharp -c Release [-- --quick] [--device cpu|cuda] [--out DIR] [--pretrain-steps N] [--lora-steps N]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
string outDir = Option("--out") ?? "out-torch";
string deviceName = Option("--device") ?? "cpu";
if (deviceName == "cuda" && !cuda.is_available())
{
    Console.Error.WriteLine("--device cuda: no CUDA device or no CUDA native package (see README.md); use --device cpu");
    return 2;
}
var device = new Device(deviceName);
var config = quick ? new GptConfig(Dim: 64, Layers: 2, Heads: 2, Context: 64) : new GptConfig();
int batch = quick ? 8 : 16;
int pretrainSteps = int.Parse(Option("--pretrain-steps") ?? (quick ? "60" : "240"));
int loraSteps = int.Parse(Option("--lora-steps") ?? (quick ? "60" : "150"));
int genLength = quick ? 40 : 120;
var clock = Stopwatch.StartNew();
Directory.CreateDirectory(outDir);
manual_seed(1337);

Console.WriteLine($"LoraGen TinyGpt on TorchSharp ({device.type.ToString().ToLowerInvariant()}) — d {config.Dim}, {config.Layers} layers, {config.Heads} heads, context {config.Context}, vocab {config.Vocab}, batch {batch}{(quick ? " (--quick)" : "")}");

// 1. Pre-train the base model on corpus A (plain prose) and save it as safetensors (state-dict names).
var corpusA = new Dataset(CharTokenizer.Encode(Corpus.Prose(quick ? 3000 : 12000, seed: 1)));
var corpusB = new Dataset(CharTokenizer.Encode(Corpus.Verse4(quick ? 600 : 2500, seed: 2)));
var model = NewModel();
Console.WriteLine($"base model: {model.parameters().Sum(p => p.numel()):N0} parameters");
var pretrainLosses = Train(model, optim.AdamW(model.parameters(), lr: 3e-3, weight_decay: 0.01), corpusA, pretrainSteps, 10);
string basePath = Path.Combine(outDir, "base.safetensors");
SaveWeights(model, basePath);
Console.WriteLine($"pre-training loss: {pretrainLosses.Take(5).Average():F3} -> {pretrainLosses.TakeLast(5).Average():F3}");
double baseValB = Evaluate(model, corpusB, 6);
Console.WriteLine($"pre-trained: validation loss A {Evaluate(model, corpusA, 5):F3}, B {baseValB:F3} — saved {basePath}");
const string prompt = "O Moon, ";
Print("sample before LoRA", Generate(model, prompt, genLength));

// 2. Attach LoRA: [Lora(Rank = 8, Alpha = 16)] on q_proj and v_proj, in the model's code.
model.Lora.Attach();
Console.WriteLine(model.Lora.Summary());
string baseHash = FrozenHash(model);

// 3. Fine-tune the adapters on corpus B (archaic verse).
var loraLosses = Train(model, optim.AdamW(model.Lora.Parameters(), lr: 1e-2, weight_decay: 0), corpusB, loraSteps, 20);
Console.WriteLine($"LoRA training loss: {loraLosses.Take(5).Average():F3} -> {loraLosses.TakeLast(5).Average():F3}");
double loraValB = Evaluate(model, corpusB, 6);
bool onlyAdaptersChanged = FrozenHash(model) == baseHash;
Console.WriteLine($"validation loss on B: base {baseValB:F3} -> after LoRA {loraValB:F3} ({100 * (1 - loraValB / baseValB):F0}% lower)");
Console.WriteLine($"base weights unchanged (only A/B trained): {(onlyAdaptersChanged ? "yes" : "NO")}");

// 4. Save the adapter (PEFT layout), merge, save merged weights, and reload both ways.
string adapterDir = Path.Combine(outDir, "adapter");
model.Lora.Save(adapterDir);
Console.WriteLine($"adapter saved: {adapterDir}/{AdapterKeys.WeightsFile} + {AdapterKeys.ConfigFile}");
var checkIds = CharTokenizer.Encode(Corpus.Verse4(2, seed: 99))[..config.Context];
using var logitsUnmerged = Logits(model, checkIds);
string after = Generate(model, prompt, genLength);
model.Lora.Merge();
using var logitsMerged = Logits(model, checkIds);
string afterMerged = Generate(model, prompt, genLength);
string mergedPath = Path.Combine(outDir, "merged.safetensors");
model.Lora.MergeAndUnload();
SaveWeights(model, mergedPath);

var viaAdapter = NewModel();
TorchSafetensors.LoadWeights(viaAdapter, basePath);
viaAdapter.Lora.Load(adapterDir);
using var logitsAdapter = Logits(viaAdapter, checkIds);
string reloadedAdapter = Generate(viaAdapter, prompt, genLength);
var viaMerged = NewModel();
TorchSafetensors.LoadWeights(viaMerged, mergedPath);
using var logitsMergedReloaded = Logits(viaMerged, checkIds);
string reloadedMerged = Generate(viaMerged, prompt, genLength);

double maxDelta = MaxAbsDiff(logitsUnmerged, logitsMerged);
double maxReload = Math.Max(MaxAbsDiff(logitsUnmerged, logitsAdapter), MaxAbsDiff(logitsMerged, logitsMergedReloaded));
bool identical = after == afterMerged && after == reloadedAdapter && after == reloadedMerged;
Console.WriteLine($"merged vs unmerged: max |Δlogit| = {maxDelta:E1}; reloads (base+adapter, merged): max |Δlogit| = {maxReload:E1}");
Console.WriteLine($"identical generations (unmerged, merged, base+adapter reloaded, merged reloaded): {(identical ? "yes" : "NO")}");
Print("sample after LoRA", after);
Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F0} s");
return onlyAdaptersChanged && identical && maxDelta < 1e-3 && maxReload < 1e-3 && loraValB < baseValB ? 0 : 1;

string? Option(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

Gpt NewModel()
{
    var m = new Gpt(config);
    m.to(device);
    return m;
}

Tensor Ids(int[] ids, int b, int t) => tensor(ids.Select(i => (long)i).ToArray(), [b, t], device: device);

List<double> Train(Gpt m, optim.Optimizer opt, Dataset data, int steps, ulong seed)
{
    var rng = new LoraGen.Tensors.Rng(seed);
    var losses = new List<double>(steps);
    m.train();
    for (int step = 0; step < steps; step++)
    {
        using var scope = NewDisposeScope();
        var (x, y) = data.Batch(rng, batch, config.Context);
        var logits = m.call(Ids(x, batch, config.Context));
        var loss = nn.functional.cross_entropy(logits.reshape(-1, config.Vocab), Ids(y, batch, config.Context).reshape(-1));
        opt.zero_grad();
        loss.backward();
        opt.step();
        losses.Add(loss.item<float>());
    }
    return losses;
}

double Evaluate(Gpt m, Dataset data, ulong seed)
{
    var rng = new LoraGen.Tensors.Rng(seed);
    m.eval();
    double total = 0;
    using (no_grad())
    {
        for (int i = 0; i < 4; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = data.Batch(rng, batch, config.Context, validation: true);
            var logits = m.call(Ids(x, batch, config.Context));
            total += nn.functional.cross_entropy(logits.reshape(-1, config.Vocab), Ids(y, batch, config.Context).reshape(-1)).item<float>();
        }
    }
    m.train();
    return total / 4;
}

Tensor Logits(Gpt m, int[] ids)
{
    m.eval();
    using var _ = no_grad();
    var logits = m.call(Ids(ids, 1, ids.Length)).cpu();
    m.train();
    return logits;
}

// Greedy decoding: deterministic, so generations compare exactly across merge and reload.
string Generate(Gpt m, string start, int count)
{
    var ids = CharTokenizer.Encode(start).ToList();
    m.eval();
    using (no_grad())
    {
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var window = ids.Skip(Math.Max(0, ids.Count - config.Context)).ToArray();
            var logits = m.call(Ids(window, 1, window.Length));
            ids.Add((int)logits[0, -1].argmax().item<long>());
        }
    }
    m.train();
    return CharTokenizer.Decode(ids);
}

static void SaveWeights(nn.Module m, string path) =>
    SafetensorsWriter.Save(path, m.state_dict().Select(kv => TorchSafetensors.ToEntry(kv.Key, kv.Value)).ToList());

static string FrozenHash(nn.Module m)
{
    using var sha = SHA256.Create();
    foreach (var (name, p) in m.named_parameters())
    {
        if (p.requires_grad) continue;
        var bytes = MemoryMarshal.AsBytes(TorchSafetensors.ToEntry(name, p).Floats.Span).ToArray();
        sha.TransformBlock(bytes, 0, bytes.Length, null, 0);
    }
    sha.TransformFinalBlock([], 0, 0);
    return Convert.ToHexString(sha.Hash!);
}

static double MaxAbsDiff(Tensor a, Tensor b)
{
    using var d = (a - b).abs().max();
    return d.item<float>();
}

static void Print(string title, string text)
{
    Console.WriteLine($"--- {title} ---");
    Console.WriteLine(text.TrimEnd());
    Console.WriteLine("---");
}
