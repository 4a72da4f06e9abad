using System.CommandLine;
using System.Text.Json;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen synth -o DIR [--layers 24] [--dtype bf16]</c> (hidden, for the memory benchmark): streams a synthetic
/// two-shard base checkpoint (<c>layers</c> × q_proj [4096, 4096] plus an embedding [32768, 4096]: 1 GiB in bf16)
/// and a rank-16 adapter on every q_proj, without holding more than a chunk in memory.
/// </summary>
internal static class SynthCommand
{
    private const int Hidden = 4096, Vocab = 32768, Rank = 16;

    public static Command Create(CliContext ctx)
    {
        var output = new Option<string>("--output", "-o") { Required = true };
        var layers = new Option<int>("--layers") { DefaultValueFactory = _ => 24 };
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "bf16" };
        var cmd = new Command("synth", "Write a synthetic ~1 GB base and an adapter for the merge memory benchmark.") { output, layers, dtype };
        cmd.Hidden = true;
        cmd.SetAction(p => Run(ctx, p.GetValue(output)!, p.GetValue(layers), DTypeOption.Parse(p.GetValue(dtype)!)));
        return cmd;
    }

    public static int Run(CliContext ctx, string dir, int layers, SafetensorsDType dtype)
    {
        var baseDir = Path.Combine(dir, "base");
        Directory.CreateDirectory(baseDir);
        string Q(int i) => $"model.layers.{i}.self_attn.q_proj";
        var shard1 = Enumerable.Range(0, layers / 2).Select(i => (Q(i) + ".weight", dtype, new long[] { Hidden, Hidden })).ToList();
        var shard2 = Enumerable.Range(layers / 2, layers - layers / 2).Select(i => (Q(i) + ".weight", dtype, new long[] { Hidden, Hidden }))
            .Append(("model.embed_tokens.weight", dtype, new long[] { Vocab, Hidden })).ToList();
        var names = new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" };
        long total = 0;
        var map = new Dictionary<string, string>();
        ulong state = 0x9E3779B97F4A7C15;
        var f = new float[1 << 20];
        foreach (var (name, tensors) in names.Zip(new[] { shard1, shard2 }))
        {
            using var s = new FileStream(Path.Combine(baseDir, name), FileMode.Create, FileAccess.Write);
            var writer = new SafetensorsStreamWriter(tensors, new Dictionary<string, string> { ["format"] = "pt" }, keepOrder: true);
            writer.Begin(s);
            foreach (var (key, dt, shape) in tensors)
            {
                map[key] = name;
                long n = shape[0] * shape[1];
                total += n * dt.Size();
                for (long done = 0; done < n; done += f.Length)
                {
                    int c = (int)Math.Min(f.Length, n - done);
                    for (int i = 0; i < c; i++)
                    {
                        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                        f[i] = ((state >> 40) / (float)(1 << 24) - 0.5f) * 0.04f;
                    }
                    writer.WriteFloats(f.AsSpan(0, c));
                }
            }
            writer.Complete();
        }
        File.WriteAllText(Path.Combine(baseDir, WeightSet.IndexFile), JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = map }));
        File.WriteAllText(Path.Combine(baseDir, Contract.HfFiles.ModelConfig), "{\"model_type\": \"synthetic\"}");
        var rnd = new Random(1);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rnd.NextDouble() - 0.5) * 0.02f).ToArray();
        var entries = Enumerable.Range(0, layers).SelectMany(i => new[]
        {
            SafetensorsEntry.FromFloats(AdapterKeys.A(Q(i), LayerKind.Linear), [Rank, Hidden], R(Rank * Hidden)),
            SafetensorsEntry.FromFloats(AdapterKeys.B(Q(i), LayerKind.Linear), [Hidden, Rank], R(Hidden * Rank)),
        }).ToList();
        AdapterDirectory.Save(Path.Combine(dir, "adapter"), new AdapterConfig { R = Rank, LoraAlpha = 32, TargetModules = new[] { "q_proj" } }, entries);
        ctx.Console.MarkupLineInterpolated($"wrote {total / (double)(1 << 30):F2} GiB base ({layers + 1} tensors, 2 shards) and a rank-{Rank} adapter to {dir}");
        return ExitCodes.Ok;
    }
}
