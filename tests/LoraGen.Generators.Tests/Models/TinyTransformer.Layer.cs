using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using LoraGen;

namespace LoraGen.Generators.Tests.Models;

/// <summary>Attention then a SiLU MLP; declared across two files.</summary>
public sealed partial class Layer : Module, IForward
{
    private readonly TinyTransformer.Attention attn;
    private readonly RmsNorm mlp_norm = new(TinyTransformer.Dim);

    public Layer(Rng rng)
    {
        attn = new TinyTransformer.Attention(rng);
        up = new Linear(TinyTransformer.Dim, 2 * TinyTransformer.Dim, rng: rng);
        down = new Linear(2 * TinyTransformer.Dim, TinyTransformer.Dim, rng: rng);
    }

    public Tensor Forward(Tensor x)
    {
        var h = x + attn.Forward(x);
        return h + down.Forward(up.Forward(mlp_norm.Forward(h)).Silu());
    }
}

public partial class Layer
{
    [Lora(Rank = 2, Alpha = 2)] private readonly Linear up;
    private readonly Linear down;
}
