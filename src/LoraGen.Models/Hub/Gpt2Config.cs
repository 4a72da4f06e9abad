namespace LoraGen.Hub;

/// <summary><c>GPT2LMHeadModel</c>'s config: learned positions, LayerNorm, tanh-GELU MLP of width <see cref="Inner"/>.</summary>
public sealed record Gpt2Config : HfModelConfig
{
    /// <summary>The MLP width (<c>n_inner</c>, 4·d when null).</summary>
    public required int Inner { get; init; }

    /// <summary><c>layer_norm_epsilon</c>.</summary>
    public required double LayerNormEpsilon { get; init; }
}
