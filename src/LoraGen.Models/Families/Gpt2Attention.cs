using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>GPT-2 attention: c_attn (Conv1D d → 3d: q, k, v), causal multi-head attention, c_proj (Conv1D d → d).</summary>
public sealed partial class Gpt2Attention : Module
{
    private readonly Linear c_attn;
    private readonly Linear c_proj;
    private readonly int _heads;

    /// <summary>Builds the layer.</summary>
    public Gpt2Attention(Gpt2Config config, Rng rng)
    {
        c_attn = new Linear(config.HiddenSize, 3 * config.HiddenSize, rng: rng);
        c_proj = new Linear(config.HiddenSize, config.HiddenSize, rng: rng);
        _heads = config.Heads;
    }

    /// <summary>x [b, t, d] → [b, t, d]; with a cache, attends over the cached positions too.</summary>
    public Tensor Forward(Tensor x, KvCache? cache, int layer)
    {
        int b = x.Dim(0), t = x.Dim(1), d = x.Dim(2), hd = d / _heads;
        var qkv = c_attn.Forward(x).Split([d, d, d], -1);
        Tensor Heads(Tensor y) => y.Reshape(b, t, _heads, hd).Permute(0, 2, 1, 3);   // [b, h, t, hd]
        Tensor q = Heads(qkv[0]), k = Heads(qkv[1]), v = Heads(qkv[2]);
        Tensor o;
        if (cache is null) o = AttentionOps.ScaledDotProductAttention(q, k, v);
        else
        {
            cache.Write(layer, k, v);
            o = q.AttendCached(cache.Keys(layer), cache.Values(layer), cache.Length + t);
        }
        return c_proj.Forward(o.Permute(0, 2, 1, 3).Reshape(b, t, d));
    }
}
