using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>Llama attention: q/k/v projections, RoPE on q and k, grouped-query causal attention, o_proj.</summary>
public sealed partial class LlamaAttention : Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    /// <summary>Builds the layer.</summary>
    public LlamaAttention(LlamaConfig config, Rng rng)
    {
        int d = config.HiddenSize, hd = config.HeadDim;
        q_proj = new Linear(d, config.Heads * hd, config.AttentionBias, rng);
        k_proj = new Linear(d, config.KeyValueHeads * hd, config.AttentionBias, rng);
        v_proj = new Linear(d, config.KeyValueHeads * hd, config.AttentionBias, rng);
        o_proj = new Linear(config.Heads * hd, d, config.AttentionBias, rng);
        _heads = config.Heads;
        _kvHeads = config.KeyValueHeads;
        _headDim = hd;
    }

    /// <summary>x [b, t, d] → [b, t, d]; with a cache, attends over the cached positions too.</summary>
    public Tensor Forward(Tensor x, float[] cos, float[] sin, int start, KvCache? cache, int layer)
    {
        int b = x.Dim(0), t = x.Dim(1), hd = _headDim;
        Tensor Heads(Tensor y, int h) => y.Reshape(b, t, h, hd).Permute(0, 2, 1, 3);   // [b, h, t, hd]
        var q = Heads(q_proj.Forward(x), _heads).Rotary(cos, sin, start);
        var k = Heads(k_proj.Forward(x), _kvHeads).Rotary(cos, sin, start);
        var v = Heads(v_proj.Forward(x), _kvHeads);
        Tensor o;
        if (cache is null)
        {
            int groups = _heads / _kvHeads;
            o = AttentionOps.ScaledDotProductAttention(q, k.RepeatKvHeads(groups), v.RepeatKvHeads(groups));
        }
        else
        {
            cache.Write(layer, k, v);
            o = q.AttendCached(cache.Keys(layer), cache.Values(layer), cache.Length + t);
        }
        return o_proj.Forward(o.Permute(0, 2, 1, 3).Reshape(b, t, _heads * hd));
    }
}
