using System.Text.RegularExpressions;

namespace LoraGen.Hub;

/// <summary>
/// How a family's weights sit in a checkpoint: the expected weights (<see cref="Specs"/>), the key prefix a file may
/// omit (GPT-2's <c>transformer.</c>), keys that may be in a file but carry no weight (GPT-2's <c>attn.bias</c> mask
/// buffers, Llama's <c>rotary_emb.inv_freq</c>, a tied <c>lm_head.weight</c>). Backend-neutral.
/// </summary>
public sealed class WeightLayout
{
    private readonly Regex? _ignorable;

    /// <summary>Creates a layout.</summary>
    public WeightLayout(IReadOnlyList<WeightSpec> specs, string? optionalPrefix, string? ignorablePattern)
    {
        Specs = specs;
        OptionalPrefix = optionalPrefix;
        _ignorable = ignorablePattern is null ? null : new Regex(ignorablePattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    /// <summary>The weights the model holds, in state-dict order.</summary>
    public IReadOnlyList<WeightSpec> Specs { get; }

    /// <summary>A prefix of every model key that a file may leave out (GPT-2's original files do), or null.</summary>
    public string? OptionalPrefix { get; }

    /// <summary>
    /// Whether a checkpoint spells the model keys with <see cref="OptionalPrefix"/> (always true without one): some key
    /// that starts with the prefix is in the file as written.
    /// </summary>
    public bool PrefixInFile(Func<string, bool> fileContains) =>
        OptionalPrefix is null || Specs.Where(s => s.Key.StartsWith(OptionalPrefix, StringComparison.Ordinal)).Any(s => fileContains(s.Key));

    /// <summary>Whether a file key that no spec claims may be skipped silently (a buffer, a tied duplicate).</summary>
    public bool IsIgnorable(string fileKey) => _ignorable?.IsMatch(fileKey) ?? false;

    /// <summary>The layout of a family, from its config.</summary>
    public static WeightLayout For(HfModelConfig config) => config switch
    {
        Gpt2Config g => Gpt2(g),
        LlamaConfig l => Llama(l),
        _ => throw new ArgumentException($"no weight layout for model_type {config.ModelType}"),
    };

    /// <summary>GPT2LMHeadModel: Conv1D weights (c_attn, c_proj, c_fc) transposed; lm_head tied unless the config unties it.</summary>
    public static WeightLayout Gpt2(Gpt2Config c)
    {
        int d = c.HiddenSize, inner = c.Inner;
        var s = new List<WeightSpec> { new("transformer.wte.weight", [c.VocabSize, d]), new("transformer.wpe.weight", [c.MaxPositions, d]) };
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"transformer.h.{i}.";
            s.Add(new(p + "ln_1.weight", [d]));
            s.Add(new(p + "ln_1.bias", [d]));
            s.Add(new(p + "attn.c_attn.weight", [3 * d, d], true));
            s.Add(new(p + "attn.c_attn.bias", [3 * d]));
            s.Add(new(p + "attn.c_proj.weight", [d, d], true));
            s.Add(new(p + "attn.c_proj.bias", [d]));
            s.Add(new(p + "ln_2.weight", [d]));
            s.Add(new(p + "ln_2.bias", [d]));
            s.Add(new(p + "mlp.c_fc.weight", [inner, d], true));
            s.Add(new(p + "mlp.c_fc.bias", [inner]));
            s.Add(new(p + "mlp.c_proj.weight", [d, inner], true));
            s.Add(new(p + "mlp.c_proj.bias", [d]));
        }
        s.Add(new("transformer.ln_f.weight", [d]));
        s.Add(new("transformer.ln_f.bias", [d]));
        if (!c.TieWordEmbeddings) s.Add(new("lm_head.weight", [c.VocabSize, d]));
        string ignorable = @"(^|\.)h\.\d+\.attn\.(bias|masked_bias)$" + (c.TieWordEmbeddings ? @"|^lm_head\.weight$" : "");
        return new WeightLayout(s, "transformer.", ignorable);
    }

    /// <summary>LlamaForCausalLM: every projection a Linear [out, in]; lm_head absent when tied.</summary>
    public static WeightLayout Llama(LlamaConfig c)
    {
        int d = c.HiddenSize, hd = c.HeadDim, q = c.Heads * hd, kv = c.KeyValueHeads * hd, m = c.IntermediateSize;
        var s = new List<WeightSpec> { new("model.embed_tokens.weight", [c.VocabSize, d]) };
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            s.Add(new(p + "self_attn.q_proj.weight", [q, d]));
            if (c.AttentionBias) s.Add(new(p + "self_attn.q_proj.bias", [q]));
            s.Add(new(p + "self_attn.k_proj.weight", [kv, d]));
            if (c.AttentionBias) s.Add(new(p + "self_attn.k_proj.bias", [kv]));
            s.Add(new(p + "self_attn.v_proj.weight", [kv, d]));
            if (c.AttentionBias) s.Add(new(p + "self_attn.v_proj.bias", [kv]));
            s.Add(new(p + "self_attn.o_proj.weight", [d, q]));
            if (c.AttentionBias) s.Add(new(p + "self_attn.o_proj.bias", [d]));
            s.Add(new(p + "mlp.gate_proj.weight", [m, d]));
            if (c.MlpBias) s.Add(new(p + "mlp.gate_proj.bias", [m]));
            s.Add(new(p + "mlp.up_proj.weight", [m, d]));
            if (c.MlpBias) s.Add(new(p + "mlp.up_proj.bias", [m]));
            s.Add(new(p + "mlp.down_proj.weight", [d, m]));
            if (c.MlpBias) s.Add(new(p + "mlp.down_proj.bias", [d]));
            s.Add(new(p + "input_layernorm.weight", [d]));
            s.Add(new(p + "post_attention_layernorm.weight", [d]));
        }
        s.Add(new("model.norm.weight", [d]));
        if (!c.TieWordEmbeddings) s.Add(new("lm_head.weight", [c.VocabSize, d]));
        string ignorable = @"\.rotary_emb\.inv_freq$" + (c.TieWordEmbeddings ? @"|^lm_head\.weight$" : "");
        return new WeightLayout(s, null, ignorable);
    }

    /// <summary>[rows, cols] → [cols, rows] (row-major), for Conv1D weights.</summary>
    public static void Transpose(ReadOnlySpan<float> src, Span<float> dst, int rows, int cols)
    {
        if (src.Length != rows * cols || dst.Length != rows * cols) throw new ArgumentException("transpose: sizes do not match.");
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[c * rows + r] = src[r * cols + c];
    }
}
