using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary><see cref="AdapterKeys.TryParse"/> is the inverse of <see cref="AdapterKeys.A"/>, <see cref="AdapterKeys.B"/> and <see cref="AdapterKeys.Magnitude"/>.</summary>
public class AdapterKeysTests
{
    [Theory]
    [InlineData("model.layers.0.self_attn.q_proj", LayerKind.Linear)]
    [InlineData("model.embed_tokens", LayerKind.Embedding)]
    [InlineData("h.1.lora_A.mlp", LayerKind.Linear)]
    [InlineData("x", LayerKind.Embedding)]
    public void ParsesWhatTheKeyBuildersWrite(string path, LayerKind kind)
    {
        foreach (var (key, part, k) in new[] { (AdapterKeys.A(path, kind), AdapterKeyPart.A, kind), (AdapterKeys.B(path, kind), AdapterKeyPart.B, kind), (AdapterKeys.Magnitude(path), AdapterKeyPart.Magnitude, LayerKind.Linear) })
        {
            Assert.True(AdapterKeys.TryParse(key, out var p, out var parsedKind, out var parsedPart), key);
            Assert.Equal((path, k, part), (p, parsedKind, parsedPart));
        }
    }

    [Theory]
    [InlineData("base_model.model.lm_head.weight")]
    [InlineData("model.layers.0.q_proj.lora_A.weight")]
    [InlineData("base_model.model..lora_A.weight")]
    [InlineData("base_model.model.q.lora_A.default.weight")]
    [InlineData("base_model.model.lora_B.weight")]
    [InlineData("")]
    public void RefusesOtherKeys(string key) => Assert.False(AdapterKeys.TryParse(key, out _, out _, out _));
}
