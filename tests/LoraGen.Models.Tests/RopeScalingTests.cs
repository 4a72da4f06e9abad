using System.Text.Json;
using LoraGen.Hub;
using Xunit;

namespace LoraGen.Models.Tests;

/// <summary>
/// The <c>dynamic</c> and <c>yarn</c> rope_scaling types against tools/make_rope_fixtures.py (PyTorch 1.13, transformers'
/// formulas): inverse frequencies, the attention factor and rows of the cos/sin tables, each to 1e-6.
/// </summary>
public class RopeScalingTests
{
    private const double Tolerance = 1e-6;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load().RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static JsonDocument Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "rope", "rope_scaling.json")));

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void FrequenciesAttentionFactorAndTablesMatchTransformers(string name)
    {
        using var doc = Load();
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var config = (LlamaConfig)HfConfig.Parse(c.GetProperty("config").GetRawText(), "config.json");
        int? seqLen = c.GetProperty("seq_len").ValueKind == JsonValueKind.Null ? null : c.GetProperty("seq_len").GetInt32();

        var expected = Doubles(c.GetProperty("inv_freq"));
        var inv = seqLen is { } l ? RotaryFrequencies.Inverse(config, l) : RotaryFrequencies.Inverse(config);
        Assert.Equal(expected.Length, inv.Length);
        for (int i = 0; i < inv.Length; i++)
            Assert.True(Math.Abs(inv[i] - expected[i]) <= Tolerance, $"{name}: inv_freq[{i}] {inv[i]} vs {expected[i]}");
        Assert.Equal(c.GetProperty("attention_factor").GetDouble(), RotaryFrequencies.AttentionFactor(config), Tolerance);

        if (!c.TryGetProperty("positions", out var positions)) return;
        var ps = positions.EnumerateArray().Select(p => p.GetInt32()).ToArray();
        var (cos, sin) = RotaryFrequencies.Tables(config, ps.Max() + 1);
        int half = inv.Length;
        var cosRows = c.GetProperty("cos").EnumerateArray().Select(Doubles).ToArray();
        var sinRows = c.GetProperty("sin").EnumerateArray().Select(Doubles).ToArray();
        for (int r = 0; r < ps.Length; r++)
            for (int i = 0; i < half; i++)
            {
                Assert.True(Math.Abs(cos[ps[r] * half + i] - cosRows[r][i]) <= Tolerance, $"{name}: cos[{ps[r]}, {i}] {cos[ps[r] * half + i]} vs {cosRows[r][i]}");
                Assert.True(Math.Abs(sin[ps[r] * half + i] - sinRows[r][i]) <= Tolerance, $"{name}: sin[{ps[r]}, {i}] {sin[ps[r] * half + i]} vs {sinRows[r][i]}");
            }
    }

    [Fact]
    public void DynamicIsPlainRopeUpToMaxPositions()
    {
        var dynamic = (LlamaConfig)HfConfig.Parse("""{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 64, "rope_scaling": {"rope_type": "dynamic", "factor": 3}}""", "config.json");
        var plain = dynamic with { RopeScaling = null };
        Assert.Equal(RotaryFrequencies.Inverse(plain), RotaryFrequencies.Inverse(dynamic));
        Assert.Equal(RotaryFrequencies.Inverse(plain), RotaryFrequencies.Inverse(dynamic, 64));
        Assert.NotEqual(RotaryFrequencies.Inverse(plain), RotaryFrequencies.Inverse(dynamic, 65));
    }

    [Fact]
    public void YarnFieldsAreReadWithTransformersDefaults()
    {
        var c = (LlamaConfig)HfConfig.Parse("""{"model_type": "llama", "vocab_size": 9, "hidden_size": 64, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 4, "max_position_embeddings": 512, "rope_scaling": {"rope_type": "yarn", "factor": 4, "beta_fast": 0}}""", "config.json");
        Assert.Equal(new RopeScaling("yarn", 4, OriginalMaxPositions: 512, BetaFast: 32, BetaSlow: 1), c.RopeScaling);
        Assert.Equal(0.1 * Math.Log(4) + 1, RotaryFrequencies.AttentionFactor(c), 1e-12);
    }
}
