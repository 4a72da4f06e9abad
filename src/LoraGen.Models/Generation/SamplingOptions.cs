namespace LoraGen.Generation;

/// <summary>
/// How the next token is chosen. <see cref="Temperature"/> 0 is greedy (argmax); otherwise logits are divided by the
/// temperature, cut to the <see cref="TopK"/> most likely (0: no cut), then to the smallest set whose probability
/// reaches <see cref="TopP"/> (1: no cut), and sampled with <see cref="Seed"/>.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>The most new tokens.</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Softmax temperature; 0 for greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Keep the k most likely tokens (0: all).</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1].</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>The random seed.</summary>
    public int Seed { get; init; }

    /// <summary>Tokens that end generation (not included in the output).</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentException($"{nameof(MaxNewTokens)} must be ≥ 0, got {MaxNewTokens}.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"{nameof(Temperature)} must be finite and ≥ 0, got {Temperature}.");
        if (TopK < 0) throw new ArgumentException($"{nameof(TopK)} must be ≥ 0, got {TopK}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"{nameof(TopP)} must be in (0, 1], got {TopP}.");
    }
}
