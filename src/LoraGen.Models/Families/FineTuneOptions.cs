namespace LoraGen.Families;

/// <summary>The settings of a LoRA fine-tuning run on a token stream (see <see cref="LoraFineTuner"/>).</summary>
public sealed record FineTuneOptions
{
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>AdamW's learning rate (cosine-free, constant).</summary>
    public float LearningRate { get; init; } = 2e-4f;

    /// <summary>Tokens per sequence (clipped to the stream and the model's context).</summary>
    public int SequenceLength { get; init; } = 128;

    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>The share of the stream held out for validation (its tail).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Validation loss every this many steps (and at the end).</summary>
    public int EvalEvery { get; init; } = 10;

    /// <summary>The seed of the window sampling.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentException($"steps must be ≥ 1, got {Steps}.");
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate)) throw new ArgumentException($"the learning rate must be positive, got {LearningRate}.");
        if (SequenceLength < 2) throw new ArgumentException($"the sequence length must be ≥ 2, got {SequenceLength}.");
        if (BatchSize < 1) throw new ArgumentException($"the batch size must be ≥ 1, got {BatchSize}.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new ArgumentException($"the validation fraction must be in [0, 1), got {ValidationFraction}.");
        if (EvalEvery < 1) throw new ArgumentException($"eval-every must be ≥ 1, got {EvalEvery}.");
    }
}
