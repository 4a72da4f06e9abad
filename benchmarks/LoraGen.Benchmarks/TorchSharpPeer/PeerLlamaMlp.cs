using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Llama's SwiGLU MLP: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)), no biases.</summary>
public sealed class PeerLlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly PeerLoraLinear gate_proj;
    private readonly PeerLoraLinear up_proj;
    private readonly PeerLoraLinear down_proj;

    public PeerLlamaMlp(PeerLlamaConfig config) : base(nameof(PeerLlamaMlp))
    {
        gate_proj = new PeerLoraLinear(config.Dim, config.Mlp, bias: false);
        up_proj = new PeerLoraLinear(config.Dim, config.Mlp, bias: false);
        down_proj = new PeerLoraLinear(config.Mlp, config.Dim, bias: false);
        RegisterComponents();
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_proj.call(nn.functional.silu(gate_proj.call(x)) * up_proj.call(x)).MoveToOuterDisposeScope();
    }
}
