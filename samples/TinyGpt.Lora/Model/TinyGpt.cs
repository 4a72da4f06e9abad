using LoraGen;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace TinyGpt.Lora.Model;

/// <summary>The sizes of the model.</summary>
public sealed record GptConfig(int Vocab = 96, int Dim = 256, int Layers = 4, int Heads = 4, int Context = 128);

/// <summary>
/// A GPT-2-style word-level model. Only the attention declares LoRA (on q and v); the generator gives this root
/// class its module tree and the <c>Lora</c> facade.
/// </summary>
[LoraModel(BaseModelName = "loragen/tinygpt-word")]
public sealed partial class Gpt : Module
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Block[] h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public Gpt(GptConfig config, Rng rng)
    {
        Config = config;
        wte = new Embedding(config.Vocab, config.Dim, rng);
        wpe = new Embedding(config.Context, config.Dim, rng);
        // GPT-2 initializes embeddings with std 0.02.
        rng.FillNormal(wte.Weight.Data, 0, 0.02f);
        rng.FillNormal(wpe.Weight.Data, 0, 0.02f);
        h = new Block[config.Layers];
        for (int i = 0; i < h.Length; i++) h[i] = new Block(config, rng);
        ln_f = new LayerNorm(config.Dim);
        lm_head = new Linear(config.Dim, config.Vocab, rng: rng);
    }

    public GptConfig Config { get; }

    /// <summary>ids [b, t] → logits [b, t, vocab].</summary>
    public Tensor Forward(int[] ids, int b, int t)
    {
        var positions = new int[t];
        for (int i = 0; i < t; i++) positions[i] = i;
        var x = wte.Forward(ids, b, t) + wpe.Forward(positions, t);   // [b, t, d] + [t, d]
        foreach (var block in h) x = block.Forward(x);
        return lm_head.Forward(ln_f.Forward(x));
    }
}

/// <summary>Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x)).</summary>
public sealed partial class Block : Module
{
    private readonly LayerNorm ln_1;
    private readonly Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Mlp mlp;

    public Block(GptConfig config, Rng rng)
    {
        ln_1 = new LayerNorm(config.Dim);
        attn = new Attention(config, rng);
        ln_2 = new LayerNorm(config.Dim);
        mlp = new Mlp(config, rng);
    }

    public Tensor Forward(Tensor x)
    {
        x = x + attn.Forward(ln_1.Forward(x));
        return x + mlp.Forward(ln_2.Forward(x));
    }
}

/// <summary>Causal multi-head self-attention; LoRA adapts the query and value projections.</summary>
public sealed partial class Attention : Module
{
    [Lora(Rank = 8, Alpha = 16)] private readonly Linear q_proj;
    private readonly Linear k_proj;
    [Lora(Rank = 8, Alpha = 16)] private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int _heads;

    public Attention(GptConfig config, Rng rng)
    {
        q_proj = new Linear(config.Dim, config.Dim, rng: rng);
        k_proj = new Linear(config.Dim, config.Dim, rng: rng);
        v_proj = new Linear(config.Dim, config.Dim, rng: rng);
        o_proj = new Linear(config.Dim, config.Dim, rng: rng);
        _heads = config.Heads;
    }

    /// <summary>x [b, t, d] → [b, t, d].</summary>
    public Tensor Forward(Tensor x)
    {
        // Heads are column groups of the [b, t, d] projections: attention reads them in place, no permutes.
        var y = AttentionOps.MultiHeadAttention(q_proj.Forward(x), k_proj.Forward(x), v_proj.Forward(x), _heads);
        return o_proj.Forward(y);
    }
}

/// <summary>The feed-forward part: Linear(d, 4d), GELU (tanh), Linear(4d, d).</summary>
public sealed partial class Mlp : Module
{
    private readonly Linear fc;
    private readonly Linear proj;

    public Mlp(GptConfig config, Rng rng)
    {
        fc = new Linear(config.Dim, 4 * config.Dim, rng: rng);
        proj = new Linear(4 * config.Dim, config.Dim, rng: rng);
    }

    public Tensor Forward(Tensor x) => proj.Forward(fc.Forward(x).Gelu(GeluApproximation.Tanh));
}
