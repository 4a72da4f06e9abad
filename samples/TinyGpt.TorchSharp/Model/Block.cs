using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyGpt.TorchSharp.Model;

/// <summary>Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).</summary>
public sealed partial class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Mlp mlp;

    public Block(GptConfig config) : base(nameof(Block))
    {
        ln_1 = nn.LayerNorm(config.Dim);
        attn = new Attention(config);
        ln_2 = nn.LayerNorm(config.Dim);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + attn.call(ln_1.call(x));
        return (x + mlp.call(ln_2.call(x))).MoveToOuterDisposeScope();
    }
}
