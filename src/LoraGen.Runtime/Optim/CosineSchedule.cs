namespace LoraGen.Optim;

/// <summary>
/// Linear warmup from 0 to the initial learning rate over <paramref name="warmupSteps"/>, then cosine decay to
/// <paramref name="minFactor"/> × the initial rate at <paramref name="totalSteps"/>. Warmup counts steps from 1, so
/// the first step already moves (unlike transformers, whose step 0 has learning rate 0).
/// </summary>
public sealed class CosineSchedule(int warmupSteps, int totalSteps, float minFactor = 0f)
{
    /// <summary>The multiplier of the initial learning rate at <paramref name="step"/> (0-based).</summary>
    public float Factor(int step)
    {
        if (step < warmupSteps) return (float)(step + 1) / Math.Max(1, warmupSteps);
        double progress = Math.Min(1.0, (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps));
        return (float)(minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Sets every group's learning rate to its initial rate × <see cref="Factor"/>.</summary>
    public void Apply(Optimizer optimizer, int step)
    {
        float f = Factor(step);
        foreach (var g in optimizer.Groups) g.Lr = g.InitialLr * f;
    }
}
