using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>Llama's body: token embedding, decoder layers <c>layers.N</c>, final RMSNorm; RoPE tables shared by all layers.</summary>
public sealed partial class LlamaModel : Module
{
    private readonly Embedding embed_tokens;
    private readonly LlamaDecoderLayer[] layers;
    private readonly RmsNorm norm;
    private readonly float[] _cos;
    private readonly float[] _sin;

    /// <summary>Builds the body for <paramref name="config"/>.</summary>
    public LlamaModel(LlamaConfig config, Rng rng)
    {
        embed_tokens = new Embedding(config.VocabSize, config.HiddenSize, rng);
        layers = new LlamaDecoderLayer[config.Layers];
        for (int i = 0; i < layers.Length; i++) layers[i] = new LlamaDecoderLayer(config, rng);
        norm = new RmsNorm(config.HiddenSize, (float)config.RmsNormEps);
        (_cos, _sin) = RotaryFrequencies.Tables(config, config.MaxPositions);
    }

    /// <summary>embed_tokens' weight [vocab, d] (the tied output head).</summary>
    public Tensor TokenEmbedding => embed_tokens.Weight;

    /// <summary>ids [b, t] → hidden states [b, t, d] after the final norm.</summary>
    public Tensor Forward(int[] ids, int b, int t, KvCache? cache)
    {
        int start = cache?.Length ?? 0;
        var x = embed_tokens.Forward(ids, b, t);
        for (int i = 0; i < layers.Length; i++) x = layers[i].Forward(x, _cos, _sin, start, cache, i);
        cache?.Advance(t);
        return norm.Forward(x);
    }
}
