using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>The example in src/LoraGen.Peft/README.md, run as written (keep the two in step).</summary>
public class ReadmeExampleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("loragen-readme-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void TheReadmeExampleRuns()
    {
        string dir = Path.Combine(_root, "out", "adapter");

        // --- README example starts
        var config = new AdapterConfig
        {
            R = 8,
            LoraAlpha = 16,
            LoraDropout = 0.05,
            TargetModules = new[] { "q_proj", "v_proj" },
            RankPattern = new Dictionary<string, int> { ["v_proj"] = 4 },
            TaskType = "CAUSAL_LM",
            BaseModelNameOrPath = "meta-llama/Llama-3.2-1B",
            InferenceMode = true,
        };
        const int hidden = 2048;
        var tensors = new List<SafetensorsEntry>();
        foreach (var path in new[] { "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj" })
        {
            if (!config.IsTargeted(path)) continue;
            int r = config.RankFor(path);                                   // 8 for q_proj, 4 for v_proj
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.A(path, LayerKind.Linear), [r, hidden], new float[r * hidden]));
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.B(path, LayerKind.Linear), [hidden, r], new float[hidden * r], SafetensorsDType.BF16));
        }
        AdapterDirectory.Save(dir, config, tensors);                        // weights + config, written as one unit

        using var adapter = AdapterDirectory.Open(dir);                     // the same config and weights, from one save
        double scaling = adapter.Config.ScalingFor("model.layers.0.self_attn.v_proj");   // α / r = 16 / 4 = 4
        float[] a = adapter.Weights.ReadFloats(AdapterKeys.A("model.layers.0.self_attn.v_proj", LayerKind.Linear));  // [4, 2048]
        Memory<float> view = adapter.Weights.GetFloatMemory(AdapterKeys.A("model.layers.0.self_attn.q_proj", LayerKind.Linear));  // zero-copy F32
        // --- README example ends

        Assert.Equal(4, scaling);
        Assert.Equal(4 * hidden, a.Length);
        Assert.Equal(8 * hidden, view.Length);
        Assert.Equal(config, adapter.Config);
        Assert.Equal(SafetensorsDType.BF16, adapter.Weights.Info(AdapterKeys.B("model.layers.0.self_attn.q_proj", LayerKind.Linear)).DType);
    }
}
