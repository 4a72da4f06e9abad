using LoraGen.Contract;

namespace LoraGen.Hub;

/// <summary>
/// Reads a transformers <c>config.json</c> into a typed <see cref="HfModelConfig"/>. Fields the families need are
/// required or defaulted as transformers defaults them; a field whose value LoraGen cannot honour (another activation,
/// a RoPE scaling type it does not implement, cross-attention…) is an error naming it and what is supported. Fields
/// without effect on the forward pass (dropouts, <c>use_cache</c>, <c>transformers_version</c>…) are ignored.
/// </summary>
public static class HfConfig
{
    /// <summary>The <c>model_type</c> values LoraGen loads.</summary>
    public static IReadOnlyList<string> ModelTypes { get; } = ["gpt2", "llama"];

    /// <summary>The <c>rope_scaling</c> types LoraGen honours for Llama.</summary>
    public static IReadOnlyList<string> RopeTypes { get; } = ["default", "linear", "dynamic", "yarn", "llama3"];

    /// <summary>The GPT-2 <c>activation_function</c> values (all the tanh approximation of GELU).</summary>
    public static IReadOnlyList<string> Gpt2Activations { get; } = ["gelu_new", "gelu_pytorch_tanh"];

    /// <summary>Reads <c>config.json</c> of <paramref name="modelDirectory"/>.</summary>
    public static HfModelConfig ReadDirectory(string modelDirectory) => Read(Path.Combine(modelDirectory, HfFiles.ModelConfig));

    /// <summary>Reads the config file at <paramref name="path"/>.</summary>
    public static HfModelConfig Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException(path, null, $"cannot be read ({e.Message})", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses config JSON; <paramref name="file"/> names it in errors.</summary>
    public static HfModelConfig Parse(string json, string file = HfFiles.ModelConfig)
    {
        using var doc = JsonFields.Parse(json, file);
        var f = JsonFields.Of(doc.RootElement, file);
        try
        {
            string type = f.String("model_type");
            return type switch
            {
                "gpt2" => Gpt2(f),
                "llama" => Llama(f),
                _ => throw f.Error("model_type", $"\"{type}\" is not supported; supported: {string.Join(", ", ModelTypes)}"),
            };
        }
        catch (InvalidOperationException e)   // System.Text.Json reports a lone surrogate in a string lazily
        {
            throw new ModelFileException(file, null, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
    }

    private static Gpt2Config Gpt2(JsonFields f)
    {
        int d = f.Int("n_embd", 1, 1 << 20), heads = f.Int("n_head", 1, 1 << 16);
        if (d % heads != 0) throw f.Error("n_head", $"n_embd {d} is not divisible by n_head {heads}");
        string act = f.String("activation_function", "gelu_new")!;
        if (!Gpt2Activations.Contains(act)) throw f.Error("activation_function", $"\"{act}\" is not supported; supported: {string.Join(", ", Gpt2Activations)}");
        Refuse(f, "add_cross_attention", true, "cross-attention (an encoder-decoder GPT-2) is not supported");
        Refuse(f, "scale_attn_by_inverse_layer_idx", true, "scaling attention by 1/(layer+1) is not supported");
        Refuse(f, "scale_attn_weights", false, "unscaled attention (scale_attn_weights false) is not supported");
        return new Gpt2Config
        {
            ModelType = "gpt2",
            VocabSize = f.Int("vocab_size", 1, 1 << 24),
            HiddenSize = d,
            Layers = f.Int("n_layer", 1, 4096),
            Heads = heads,
            KeyValueHeads = heads,
            MaxPositions = f.Int("n_positions", 1, 1 << 24),
            Inner = f.NullableInt("n_inner", 1, 1 << 24) ?? 4 * d,
            LayerNormEpsilon = f.Number("layer_norm_epsilon", 1e-5, 0),
            TieWordEmbeddings = f.Bool("tie_word_embeddings", true),
            BosTokenId = f.NullableInt("bos_token_id"),
            EosTokenIds = f.IntOrInts("eos_token_id"),
            TorchDType = f.String("torch_dtype", null) ?? f.String("dtype", null),
        };
    }

    private static LlamaConfig Llama(JsonFields f)
    {
        int d = f.Int("hidden_size", 1, 1 << 20), heads = f.Int("num_attention_heads", 1, 1 << 16);
        int kv = f.Int("num_key_value_heads", heads, 1, 1 << 16);
        if (d % heads != 0) throw f.Error("num_attention_heads", $"hidden_size {d} is not divisible by num_attention_heads {heads}");
        if (heads % kv != 0) throw f.Error("num_key_value_heads", $"num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}");
        if (f.NullableInt("head_dim", 1, 1 << 16) is { } hd && hd != d / heads)
            throw f.Error("head_dim", $"{hd} differs from hidden_size / num_attention_heads = {d / heads}; a separate head width is not supported");
        string act = f.String("hidden_act", "silu")!;
        if (act != "silu") throw f.Error("hidden_act", $"\"{act}\" is not supported; supported: silu");
        int vocab = f.Int("vocab_size", 1, 1 << 24);
        int maxPositions = f.Int("max_position_embeddings", 2048, 1, 1 << 24);
        return new LlamaConfig
        {
            ModelType = "llama",
            VocabSize = vocab,
            HiddenSize = d,
            Layers = f.Int("num_hidden_layers", 1, 4096),
            Heads = heads,
            KeyValueHeads = kv,
            MaxPositions = maxPositions,
            IntermediateSize = f.Int("intermediate_size", 1, 1 << 24),
            RmsNormEps = f.Number("rms_norm_eps", 1e-6, 0),
            // transformers 5 writes rope_theta and the scaling inside one rope_parameters object; 4.x wrote them at the top.
            RopeTheta = (f.Object("rope_parameters") ?? f).Number("rope_theta", 10000, 0),
            RopeScaling = Scaling(f, maxPositions),
            AttentionBias = f.Bool("attention_bias", false),
            MlpBias = f.Bool("mlp_bias", false),
            TieWordEmbeddings = f.Bool("tie_word_embeddings", false),
            BosTokenId = f.NullableInt("bos_token_id"),
            EosTokenIds = f.IntOrInts("eos_token_id"),
            TorchDType = f.String("torch_dtype", null) ?? f.String("dtype", null),
        };
    }

    private static RopeScaling? Scaling(JsonFields f, int maxPositions)
    {
        if ((f.Object("rope_scaling") ?? f.Object("rope_parameters")) is not { } s) return null;
        string type = s.String("rope_type", null) ?? s.String("type", null) ?? throw s.Error("rope_type", "required field is missing");
        if (!RopeTypes.Contains(type)) throw s.Error("rope_type", $"\"{type}\" is not supported; supported: {string.Join(", ", RopeTypes)}");
        if (type == "default") return null;
        double factor = s.Number("factor", 0);
        if (type == "linear") return new RopeScaling(type, factor);
        if (type is "dynamic" or "yarn" && factor < 1) throw s.Error("factor", $"must be at least 1 for {type}, got {factor}");
        if (type == "dynamic") return new RopeScaling(type, factor);
        if (type == "yarn")
        {
            // As transformers: a missing or zero beta takes the paper's default; mscales count only when both are non-zero.
            double fast = s.Number("beta_fast", 0, double.NegativeInfinity), slow = s.Number("beta_slow", 0, double.NegativeInfinity);
            double? Optional(string name) => s.Has(name) ? s.Number(name, double.NegativeInfinity) : null;
            var yarn = new RopeScaling(type, factor, OriginalMaxPositions: s.Int("original_max_position_embeddings", maxPositions, 1, 1 << 24),
                BetaFast: fast == 0 ? 32 : fast, BetaSlow: slow == 0 ? 1 : slow, AttentionFactor: Optional("attention_factor"),
                Mscale: Optional("mscale"), MscaleAllDim: Optional("mscale_all_dim"), Truncate: s.Bool("truncate", true));
            return yarn;
        }
        double lo = s.Number("low_freq_factor", 0), hi = s.Number("high_freq_factor", 0);
        if (!(hi > lo)) throw s.Error("high_freq_factor", $"must be greater than low_freq_factor ({lo})");
        return new RopeScaling(type, factor, lo, hi, s.Int("original_max_position_embeddings", 1, 1 << 24));
    }

    private static void Refuse(JsonFields f, string name, bool value, string why)
    {
        if (f.Has(name) && f.Bool(name, !value) == value) throw f.Error(name, why);
    }
}
