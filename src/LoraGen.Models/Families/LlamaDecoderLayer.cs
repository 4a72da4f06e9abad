using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>A Llama decoder layer: x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).</summary>
public sealed partial class LlamaDecoderLayer : Module
{
    private readonly LlamaAttention self_attn;
    private readonly LlamaMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    /// <summary>Builds the layer.</summary>
    public LlamaDecoderLayer(LlamaConfig config, Rng rng)
    {
        self_attn = new LlamaAttention(config, rng);
        mlp = new LlamaMlp(config, rng);
        input_layernorm = new RmsNorm(config.HiddenSize, (float)config.RmsNormEps);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, (float)config.RmsNormEps);
    }

    /// <summary>x [b, t, d] → [b, t, d] at positions start…start+t−1.</summary>
    public Tensor Forward(Tensor x, float[] cos, float[] sin, int start, KvCache? cache, int layer)
    {
        x = x + self_attn.Forward(input_layernorm.Forward(x), cos, sin, start, cache, layer);
        return x + mlp.Forward(post_attention_layernorm.Forward(x));
    }
}
