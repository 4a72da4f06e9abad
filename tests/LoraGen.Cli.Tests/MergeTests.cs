using System.Text.Json;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Cli.Tests;

public sealed class MergeTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private const string Q = "model.layers.0.self_attn.q_proj", V = "model.layers.0.self_attn.v_proj", E = "model.embed_tokens";

    /// <summary>W + s·B·A in double, independently of the tool ([out, in] weights; transposed for embeddings / fan_in_fan_out).</summary>
    private static double[] Expected(float[] w, float[] a, float[] b, int outF, int inF, int r, double s, bool transposed)
    {
        var res = w.Select(x => (double)x).ToArray();
        for (int o = 0; o < outF; o++)
            for (int i = 0; i < inF; i++)
            {
                double d = 0;
                for (int k = 0; k < r; k++) d += b[o * r + k] * (double)a[k * inF + i];
                if (transposed) res[i * outF + o] += s * d; else res[o * inF + i] += s * d;
            }
        return res;
    }

    private (float[] Wq, float[] Wv, float[] We, float[] Aq, float[] Bq, float[] Av, float[] Bv, float[] Ae, float[] Be) WriteF32(string basePath, string adapterDir, bool fif = false)
    {
        var wq = Fixtures.Rand(6 * 5, 1); var wv = Fixtures.Rand(6 * 5, 2); var we = Fixtures.Rand(10 * 4, 3);
        SafetensorsWriter.Save(basePath, [
            SafetensorsEntry.FromFloats(Q + ".weight", fif ? new long[] { 5, 6 } : new long[] { 6, 5 }, wq),
            SafetensorsEntry.FromFloats(V + ".weight", fif ? new long[] { 5, 6 } : new long[] { 6, 5 }, wv),
            SafetensorsEntry.FromFloats(E + ".weight", [10, 4], we),
            SafetensorsEntry.FromFloats("model.norm.weight", [5], Fixtures.Rand(5, 4)),
        ]);
        var aq = Fixtures.Rand(2 * 5, 5); var bq = Fixtures.Rand(6 * 2, 6); var av = Fixtures.Rand(2 * 5, 7); var bv = Fixtures.Rand(6 * 2, 8);
        var ae = Fixtures.Rand(2 * 10, 9); var be = Fixtures.Rand(4 * 2, 10);
        Fixtures.WriteAdapter(adapterDir, Fixtures.PeftConfig(2, 16, "[\"q_proj\", \"v_proj\", \"embed_tokens\"]", fif), [
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_A.weight", [2, 5], aq),
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_B.weight", [6, 2], bq),
            SafetensorsEntry.FromFloats($"base_model.model.{V}.lora_A.weight", [2, 5], av),
            SafetensorsEntry.FromFloats($"base_model.model.{V}.lora_B.weight", [6, 2], bv),
            SafetensorsEntry.FromFloats($"base_model.model.{E}.lora_embedding_A", [2, 10], ae),
            SafetensorsEntry.FromFloats($"base_model.model.{E}.lora_embedding_B", [4, 2], be),
        ]);
        return (wq, wv, we, aq, bq, av, bv, ae, be);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merge_equals_W_plus_scaled_BA(bool fanInFanOut)
    {
        var x = WriteF32(_f.P("model.safetensors"), _f.P("adapter"), fanInFanOut);
        var (code, _, err) = Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.True(code == 0, err);
        using var m = SafetensorsFile.Open(_f.P("out", "model.safetensors"));
        const double s = 16.0 / 2;
        AssertClose(Expected(x.Wq, x.Aq, x.Bq, 6, 5, 2, s, fanInFanOut), m.ReadFloats(Q + ".weight"));
        AssertClose(Expected(x.Wv, x.Av, x.Bv, 6, 5, 2, s, fanInFanOut), m.ReadFloats(V + ".weight"));
        AssertClose(Expected(x.We, x.Ae, x.Be, 4, 10, 2, s, transposed: true), m.ReadFloats(E + ".weight"));
        using var b = SafetensorsFile.Open(_f.P("model.safetensors"));
        Assert.Equal(b.RawBytes("model.norm.weight").ToArray(), m.RawBytes("model.norm.weight").ToArray());
        Assert.Equal(b.Tensors.Select(t => (t.Name, t.DType, t.Begin)), m.Tensors.Select(t => (t.Name, t.DType, t.Begin)));
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"[{i}] {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Sharded_bf16_base_keeps_bf16_sharding_and_other_files()
    {
        var dir = _f.P("base");
        Directory.CreateDirectory(dir);
        var wq = Fixtures.Rand(30, 1); var wv = Fixtures.Rand(30, 2);
        SafetensorsWriter.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), [SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], wq, SafetensorsDType.BF16),
            SafetensorsEntry.FromFloats("model.norm.weight", [5], Fixtures.Rand(5, 3), SafetensorsDType.BF16)], new Dictionary<string, string> { ["format"] = "pt" });
        SafetensorsWriter.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), [SafetensorsEntry.FromFloats(V + ".weight", [6, 5], wv, SafetensorsDType.BF16),
            SafetensorsEntry.FromFloats(E + ".weight", [10, 4], Fixtures.Rand(40, 4), SafetensorsDType.BF16)], new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), """
            {"metadata": {"total_size": 282}, "weight_map": {"model.embed_tokens.weight": "model-00002-of-00002.safetensors",
             "model.layers.0.self_attn.q_proj.weight": "model-00001-of-00002.safetensors", "model.layers.0.self_attn.v_proj.weight": "model-00002-of-00002.safetensors",
             "model.norm.weight": "model-00001-of-00002.safetensors"}}
            """);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"model_type\": \"llama\", \"torch_dtype\": \"bfloat16\"}");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{}");
        var aq = Fixtures.Rand(10, 5); var bq = Fixtures.Rand(12, 6);
        Fixtures.WriteAdapter(_f.P("adapter"), Fixtures.PeftConfig(2, 4, "[\"q_proj\"]"), [
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_A.weight", [2, 5], aq),
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_B.weight", [6, 2], bq)]);

        var (code, _, err) = Cli.Run("merge", _f.P("adapter"), "--base", dir, "-o", _f.P("out"));
        Assert.True(code == 0, err);
        var outFiles = Directory.GetFiles(_f.P("out")).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray(), outFiles);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "model.safetensors.index.json")), File.ReadAllBytes(_f.P("out", "model.safetensors.index.json")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "config.json")), File.ReadAllBytes(_f.P("out", "config.json")));
        foreach (var shard in new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" })
        {
            using var b = SafetensorsFile.Open(Path.Combine(dir, shard));
            using var m = SafetensorsFile.Open(_f.P("out", shard));
            Assert.Equal(b.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape), t.Begin)), m.Tensors.Select(t => (t.Name, t.DType, string.Join(",", t.Shape), t.Begin)));
            Assert.All(m.Tensors, t => Assert.Equal(SafetensorsDType.BF16, t.DType));
        }
        using (var b1 = SafetensorsFile.Open(Path.Combine(dir, "model-00001-of-00002.safetensors")))
        using (var m1 = SafetensorsFile.Open(_f.P("out", "model-00001-of-00002.safetensors")))
        {
            var expected = Expected(b1.ReadFloats(Q + ".weight"), aq, bq, 6, 5, 2, 4.0 / 2, false);
            var got = m1.ReadFloats(Q + ".weight");
            for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) <= Math.Abs(expected[i]) / 128 + 1e-6, $"[{i}] {expected[i]} vs {got[i]}");
        }
        using var b2 = SafetensorsFile.Open(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        using var m2 = SafetensorsFile.Open(_f.P("out", "model-00002-of-00002.safetensors"));
        Assert.Equal(b2.RawBytes(V + ".weight").ToArray(), m2.RawBytes(V + ".weight").ToArray());
    }

    [Fact]
    public void Safe_merge_refuses_NaN_and_leaves_no_output()
    {
        var x = WriteF32(_f.P("model.safetensors"), _f.P("adapter"));
        var bq = x.Bq.ToArray();
        bq[3] = float.NaN;
        Fixtures.WriteAdapter(_f.P("bad"), Fixtures.PeftConfig(2, 16, "[\"q_proj\"]"), [
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_A.weight", [2, 5], x.Aq),
            SafetensorsEntry.FromFloats($"base_model.model.{Q}.lora_B.weight", [6, 2], bq)]);
        var (code, _, err) = Cli.Run("merge", _f.P("bad"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"), "--safe");
        Assert.Equal(ExitCodes.NotFinite, code);
        Assert.Contains(Q + ".weight", err);
        Assert.False(Directory.Exists(_f.P("out")));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(_f.Root), p => p.Contains("loragen-tmp"));
    }

    [Fact]
    public void Existing_output_needs_force()
    {
        WriteF32(_f.P("model.safetensors"), _f.P("adapter"));
        Directory.CreateDirectory(_f.P("out"));
        File.WriteAllText(_f.P("out", "old.txt"), "x");
        var (code, _, err) = Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.Equal(ExitCodes.OutputExists, code);
        Assert.Contains("--force", err);
        Assert.True(File.Exists(_f.P("out", "old.txt")));
        Assert.Equal(0, Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"), "--force").Code);
        Assert.False(File.Exists(_f.P("out", "old.txt")));
        Assert.True(File.Exists(_f.P("out", "model.safetensors")));
    }

    [Fact]
    public void Inspect_json_lists_layers_scaling_and_summary()
    {
        WriteF32(_f.P("model.safetensors"), _f.P("adapter"));
        var (code, output, err) = Cli.Run("inspect", _f.P("adapter"), "--base", _f.P("model.safetensors"), "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var layers = doc.RootElement.GetProperty("layers");
        Assert.Equal(3, layers.GetArrayLength());
        Assert.All(layers.EnumerateArray(), l => Assert.Equal(8.0, l.GetProperty("scaling").GetDouble()));
        Assert.Equal(10 + 12 + 10 + 12 + 20 + 8, doc.RootElement.GetProperty("trainable_params").GetInt64());
        Assert.StartsWith("trainable params: 72 || all params: 177 || trainable%: 40.6780", doc.RootElement.GetProperty("summary").GetString());
        Assert.Equal("megatron.core", doc.RootElement.GetProperty("config_fields").GetProperty("megatron_core").GetString());
        var (c2, tables, e2) = Cli.Run("inspect", _f.P("adapter"));
        Assert.True(c2 == 0, e2);
        Assert.Contains(Q, tables);
        var (c3, model, _) = Cli.Run("inspect", _f.Root, "--json");
        Assert.Equal(0, c3);
        Assert.Contains("q_proj", model);
    }
}
