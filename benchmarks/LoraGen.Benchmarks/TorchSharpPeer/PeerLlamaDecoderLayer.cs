using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>A Llama decoder layer: x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).</summary>
public sealed class PeerLlamaDecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly PeerLlamaAttention self_attn;
    private readonly PeerLlamaMlp mlp;
    private readonly PeerRmsNorm input_layernorm;
    private readonly PeerRmsNorm post_attention_layernorm;

    public PeerLlamaDecoderLayer(PeerLlamaConfig config) : base(nameof(PeerLlamaDecoderLayer))
    {
        self_attn = new PeerLlamaAttention(config);
        mlp = new PeerLlamaMlp(config);
        input_layernorm = new PeerRmsNorm(config.Dim, config.RmsNormEps);
        post_attention_layernorm = new PeerRmsNorm(config.Dim, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>x [b, t, d], cos and sin [t, hd] → [b, t, d].</summary>
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        x = x + self_attn.call(input_layernorm.call(x), cos, sin);
        return (x + mlp.call(post_attention_layernorm.call(x))).MoveToOuterDisposeScope();
    }
}
