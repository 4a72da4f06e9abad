namespace LoraGen.Hub;

/// <summary><c>LlamaForCausalLM</c>'s config: RMSNorm, RoPE, SwiGLU MLP, grouped-query attention.</summary>
public sealed record LlamaConfig : HfModelConfig
{
    /// <summary>The MLP width (<c>intermediate_size</c>).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>rms_norm_eps</c>.</summary>
    public required double RmsNormEps { get; init; }

    /// <summary><c>rope_theta</c> (10000 when absent).</summary>
    public required double RopeTheta { get; init; }

    /// <summary><c>rope_scaling</c>, or null for plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary><c>attention_bias</c>: q/k/v/o projections carry biases.</summary>
    public bool AttentionBias { get; init; }

    /// <summary><c>mlp_bias</c>: gate/up/down projections carry biases.</summary>
    public bool MlpBias { get; init; }
}
