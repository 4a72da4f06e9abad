using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// Llama attention written by hand: q/k/v projections (LoRA on q_proj and v_proj), rotary embedding on q and k
/// (transformers' rotate_half convention: pairs (i, i + hd/2)), grouped-query causal attention (each key/value head
/// serves heads/kv_heads consecutive query heads, as transformers' repeat_kv), o_proj. No biases.
/// </summary>
public sealed class PeerLlamaAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly PeerLoraLinear q_proj;
    private readonly PeerLoraLinear k_proj;
    private readonly PeerLoraLinear v_proj;
    private readonly PeerLoraLinear o_proj;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    public PeerLlamaAttention(PeerLlamaConfig config) : base(nameof(PeerLlamaAttention))
    {
        int d = config.Dim, hd = config.HeadDim;
        q_proj = new PeerLoraLinear(d, config.Heads * hd, config.Rank, config.Alpha, bias: false);
        k_proj = new PeerLoraLinear(d, config.KvHeads * hd, bias: false);
        v_proj = new PeerLoraLinear(d, config.KvHeads * hd, config.Rank, config.Alpha, bias: false);
        o_proj = new PeerLoraLinear(config.Heads * hd, d, bias: false);
        _heads = config.Heads;
        _kvHeads = config.KvHeads;
        _headDim = hd;
        RegisterComponents();
    }

    /// <summary>x [b, t, d], cos and sin [t, hd] → [b, t, d].</summary>
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Tensor y, int h) => y.reshape(b, t, h, _headDim).permute(0, 2, 1, 3);   // [b, h, t, hd]
        Tensor RotateHalf(Tensor y)
        {
            var halves = y.chunk(2, -1);
            return cat([-halves[1], halves[0]], -1);
        }
        Tensor Rope(Tensor y) => y * cos + RotateHalf(y) * sin;
        var q = Rope(Heads(q_proj.call(x), _heads));
        var k = Rope(Heads(k_proj.call(x), _kvHeads));
        var v = Heads(v_proj.call(x), _kvHeads);
        int groups = _heads / _kvHeads;
        var o = nn.functional.scaled_dot_product_attention(q, k.repeat_interleave(groups, dim: 1), v.repeat_interleave(groups, dim: 1), is_casual: true);
        return o_proj.call(o.permute(0, 2, 1, 3).reshape(b, t, _heads * _headDim)).MoveToOuterDisposeScope();
    }
}
