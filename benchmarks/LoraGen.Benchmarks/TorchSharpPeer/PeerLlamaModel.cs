using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Llama's body: embed_tokens, decoder layers <c>layers.N</c>, final RMSNorm; the rotary tables per call.</summary>
public sealed class PeerLlamaModel : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<PeerLlamaDecoderLayer> layers;
    private readonly PeerRmsNorm norm;
    private readonly PeerLlamaConfig _config;

    public PeerLlamaModel(PeerLlamaConfig config) : base(nameof(PeerLlamaModel))
    {
        embed_tokens = nn.Embedding(config.Vocab, config.Dim);
        layers = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new PeerLlamaDecoderLayer(config)).ToArray());
        norm = new PeerRmsNorm(config.Dim, config.RmsNormEps);
        _config = config;
        RegisterComponents();
    }

    /// <summary>embed_tokens' weight [vocab, d] (the tied output head).</summary>
    public Tensor TokenEmbedding => embed_tokens.weight!;

    /// <summary>ids [b, t] (int64) → hidden states [b, t, d] after the final norm.</summary>
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        long t = ids.shape[1];
        int hd = _config.HeadDim;
        // θ_i = rope_theta^(−2i/hd) (in double, as transformers' inv_freq before the cast), angles [t, hd/2], duplicated to [t, hd].
        var inv = Enumerable.Range(0, hd / 2).Select(i => (float)(1.0 / Math.Pow(_config.RopeTheta, 2.0 * i / hd))).ToArray();
        var angles = outer(arange(t, dtype: ScalarType.Float32), tensor(inv));
        var emb = cat([angles, angles], -1);
        Tensor cos = emb.cos(), sin = emb.sin();
        var x = embed_tokens.call(ids);
        foreach (var layer in layers) x = layer.call(x, cos, sin);
        return norm.call(x).MoveToOuterDisposeScope();
    }
}
