using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).</summary>
public sealed class PeerBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly PeerAttention attn;
    private readonly LayerNorm ln_2;
    private readonly PeerMlp mlp;

    public PeerBlock(PeerConfig config) : base(nameof(PeerBlock))
    {
        ln_1 = nn.LayerNorm(config.Dim);
        attn = new PeerAttention(config);
        ln_2 = nn.LayerNorm(config.Dim);
        mlp = new PeerMlp(config);
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
