using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>A GPT-2 block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed partial class Gpt2Block : Module
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    /// <summary>Builds the block.</summary>
    public Gpt2Block(Gpt2Config config, Rng rng)
    {
        ln_1 = new LayerNorm(config.HiddenSize, (float)config.LayerNormEpsilon);
        attn = new Gpt2Attention(config, rng);
        ln_2 = new LayerNorm(config.HiddenSize, (float)config.LayerNormEpsilon);
        mlp = new Gpt2Mlp(config, rng);
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public Tensor Forward(Tensor x, KvCache? cache, int layer)
    {
        x = x + attn.Forward(ln_1.Forward(x), cache, layer);
        return x + mlp.Forward(ln_2.Forward(x));
    }
}
