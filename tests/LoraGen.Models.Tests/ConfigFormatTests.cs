using LoraGen.Hub;
using Xunit;

namespace LoraGen.Models.Tests;

/// <summary>config.json as transformers 4.x and 5.x write it reads the same.</summary>
public class ConfigFormatTests
{
    private const string LlamaFields = """
        "model_type": "llama", "vocab_size": 300, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128
        """;

    /// <summary>
    /// transformers 5 moved <c>rope_theta</c> and <c>rope_scaling</c> into one <c>rope_parameters</c> object and renamed
    /// <c>torch_dtype</c> to <c>dtype</c>; a checkpoint saved by either version gives the same rotary settings.
    /// </summary>
    [Fact]
    public void RopeParametersOfTransformers5ReadLikeRopeScalingAndRopeTheta()
    {
        var v4 = (LlamaConfig)HfConfig.Parse($$"""
            { {{LlamaFields}}, "rope_theta": 500000.0, "torch_dtype": "bfloat16",
              "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32} }
            """, "config.json");
        var v5 = (LlamaConfig)HfConfig.Parse($$"""
            { {{LlamaFields}}, "dtype": "bfloat16",
              "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32} }
            """, "config.json");
        Assert.Equal(500000.0, v5.RopeTheta);
        Assert.Equal(v4.RopeTheta, v5.RopeTheta);
        Assert.Equal(v4.RopeScaling, v5.RopeScaling);
        Assert.Equal("llama3", v5.RopeScaling!.Type);
        Assert.Equal("bfloat16", v5.TorchDType);

        var plain = (LlamaConfig)HfConfig.Parse($$"""{ {{LlamaFields}}, "rope_parameters": {"rope_type": "default", "rope_theta": 20000.0} }""", "config.json");
        Assert.Null(plain.RopeScaling);
        Assert.Equal(20000.0, plain.RopeTheta);
    }

    /// <summary>An unsupported type inside <c>rope_parameters</c> is refused by its path, like one in rope_scaling.</summary>
    [Fact]
    public void UnsupportedRopeTypeInRopeParametersNamesTheField()
    {
        var e = Assert.Throws<ModelFileException>(() => HfConfig.Parse($$"""{ {{LlamaFields}}, "rope_parameters": {"rope_type": "no-such-rope", "rope_theta": 10000.0} }""", "config.json"));
        Assert.Equal("rope_parameters.rope_type", e.Key);
    }
}
