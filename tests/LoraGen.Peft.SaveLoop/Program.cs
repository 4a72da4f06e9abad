using LoraGen.Peft;
using LoraGen.Peft.SaveLoop;
using LoraGen.SafeTensors;

// The kill test's child: saves adapters of rank 4 and rank 16 alternately into the folder args[0], forever, each
// one consistent in itself (config r = the tensors' rank; the save's id in the config and in the weights' metadata).
// It prints "ready" once it has started and "saved N" after each save; the test kills it at a random moment.
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: LoraGen.Peft.SaveLoop <adapter directory> [seed]");
    return 2;
}
string dir = args[0];
int seed = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : Environment.ProcessId;
long count = args.Length > 2 ? long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : long.MaxValue;   // saves, then exit
var rng = new Random(seed);
const int Layers = 2, In = 192, Out = 192;
string[] modules = ["q_proj", "v_proj"];

Console.Out.WriteLine("ready");
Console.Out.Flush();
var clock = System.Diagnostics.Stopwatch.StartNew();
for (long n = 0; n < count; n++)
{
    int r = (n + seed) % 2 == 0 ? 4 : 16;
    string id = $"{seed}/{n}/r{r}";
    var config = new AdapterConfig
    {
        R = r,
        LoraAlpha = 2 * r,
        TargetModules = modules,
        BaseModelNameOrPath = id,
        InferenceMode = true,
    };
    var tensors = new List<SafetensorsEntry>();
    for (int layer = 0; layer < Layers; layer++)
    {
        foreach (var m in modules)
        {
            string path = $"model.layers.{layer}.self_attn.{m}";
            var a = new float[r * In];
            var b = new float[Out * r];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
            b.AsSpan().Fill(r);
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.A(path, LayerKind.Linear), [r, In], a));
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.B(path, LayerKind.Linear), [Out, r], b));
        }
    }
    AdapterDirectory.Save(dir, config, tensors, new Dictionary<string, string> { [SaveLoopIds.MetadataKey] = id });
    Console.Out.WriteLine($"saved {n}");
}
Console.Out.WriteLine($"{count} saves in {clock.Elapsed.TotalMilliseconds:F0} ms");
return 0;
