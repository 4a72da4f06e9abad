using LoraGen.Hub;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Families;

/// <summary>GPT-2's body: token and learned position embeddings, blocks <c>h.N</c>, final LayerNorm.</summary>
public sealed partial class Gpt2Model : Module
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Gpt2Block[] h;
    private readonly LayerNorm ln_f;

    /// <summary>Builds the body for <paramref name="config"/>.</summary>
    public Gpt2Model(Gpt2Config config, Rng rng)
    {
        wte = new Embedding(config.VocabSize, config.HiddenSize, rng);
        wpe = new Embedding(config.MaxPositions, config.HiddenSize, rng);
        h = new Gpt2Block[config.Layers];
        for (int i = 0; i < h.Length; i++) h[i] = new Gpt2Block(config, rng);
        ln_f = new LayerNorm(config.HiddenSize, (float)config.LayerNormEpsilon);
    }

    /// <summary>wte's weight [vocab, d] (the tied output head).</summary>
    public Tensor TokenEmbedding => wte.Weight;

    /// <summary>ids [b, t] → hidden states [b, t, d] after ln_f.</summary>
    public Tensor Forward(int[] ids, int b, int t, KvCache? cache)
    {
        int start = cache?.Length ?? 0;
        var positions = new int[t];
        for (int i = 0; i < t; i++) positions[i] = start + i;
        var x = wte.Forward(ids, b, t) + wpe.Forward(positions, t);   // [b, t, d] + [t, d]
        for (int i = 0; i < h.Length; i++) x = h[i].Forward(x, cache, i);
        cache?.Advance(t);
        return ln_f.Forward(x);
    }
}
