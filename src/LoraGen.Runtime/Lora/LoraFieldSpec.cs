using LoraGen.Nn;

namespace LoraGen.Lora;

/// <summary>The settings a <c>[Lora]</c> field declares, fixed at compile time by the generator.</summary>
/// <param name="Config">Rank, alpha, dropout, init and scaling rule.</param>
/// <param name="Bias">Which biases train.</param>
public sealed class LoraFieldSpec(LoraConfig Config, LoraBias Bias = LoraBias.None) : AdapterSpec
{
    /// <summary>Rank, alpha, dropout, init and scaling rule.</summary>
    public LoraConfig Config { get; } = Config;

    /// <summary>Which biases train.</summary>
    public LoraBias Bias { get; } = Bias;
}
