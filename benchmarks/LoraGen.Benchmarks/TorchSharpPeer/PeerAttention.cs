using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Causal multi-head self-attention, LoRA by hand on q and v (as samples/TinyGpt.TorchSharp's Attention).</summary>
public sealed class PeerAttention : nn.Module<Tensor, Tensor>
{
    private readonly PeerLoraLinear q_proj;
    private readonly Linear k_proj;
    private readonly PeerLoraLinear v_proj;
    private readonly Linear o_proj;
    private readonly int _heads;

    public PeerAttention(PeerConfig config) : base(nameof(PeerAttention))
    {
        q_proj = new PeerLoraLinear(config.Dim, config.Dim, config.Rank, config.Alpha);
        k_proj = nn.Linear(config.Dim, config.Dim);
        v_proj = new PeerLoraLinear(config.Dim, config.Dim, config.Rank, config.Alpha);
        o_proj = nn.Linear(config.Dim, config.Dim);
        _heads = config.Heads;
        RegisterComponents();
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2], hd = d / _heads;
        Tensor Heads(Tensor y) => y.reshape(b, t, _heads, hd).permute(0, 2, 1, 3);   // [b, h, t, hd]
        var y = nn.functional.scaled_dot_product_attention(Heads(q_proj.call(x)), Heads(k_proj.call(x)), Heads(v_proj.call(x)), is_casual: true);
        return o_proj.call(y.permute(0, 2, 1, 3).reshape(b, t, d)).MoveToOuterDisposeScope();
    }
}
