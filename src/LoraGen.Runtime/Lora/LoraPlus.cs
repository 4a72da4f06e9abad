using LoraGen.Optim;
using LoraGen.Peft;
using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// LoRA+ (Hayou et al. 2024): B learns λ times faster than A (λ = <c>loraplus_lr_ratio</c> ≫ 1), as PEFT's
/// <c>create_loraplus_optimizer</c> arranges it with four parameter groups over what <see cref="LoraModelController.Parameters"/>
/// returns:
/// <list type="bullet">
/// <item><c>groupA</c>: Linear A (and any unfrozen 2-D base weight) — lr, weight decay.</item>
/// <item><c>groupB</c>: Linear B and DoRA's magnitude — lr·λ, weight decay.</item>
/// <item><c>groupB_no_decay</c>: unfrozen 1-D base parameters (biases, norm weights) — lr·λ, no weight decay.</item>
/// <item><c>embedding</c>: the adapters of Embedding layers — <c>loraplus_lr_embedding</c> (PEFT's default 1e-6), weight decay.</item>
/// </list>
/// Empty groups are left out.
/// </summary>
public static class LoraPlus
{
    /// <summary>PEFT's default <c>loraplus_lr_ratio</c> (λ).</summary>
    public const float DefaultLrRatio = 16f;

    /// <summary>PEFT's default <c>loraplus_lr_embedding</c>.</summary>
    public const float DefaultEmbeddingLr = 1e-6f;

    /// <summary>
    /// The LoRA+ parameter groups of <paramref name="lora"/>'s trainable parameters (see the type's remarks). Throws
    /// <see cref="ArgumentException"/> for a non-positive or non-finite learning rate or ratio.
    /// </summary>
    public static IReadOnlyList<ParamGroup> Groups(LoraModelController lora, float lr, float lrRatio = DefaultLrRatio,
        float weightDecay = 0f, float embeddingLr = DefaultEmbeddingLr)
    {
        ArgumentNullException.ThrowIfNull(lora);
        Check(lr, nameof(lr));
        Check(lrRatio, nameof(lrRatio));
        Check(embeddingLr, nameof(embeddingLr));
        if (!(weightDecay >= 0) || !float.IsFinite(weightDecay)) throw new ArgumentException($"LoRA+: weight decay must be ≥ 0 and finite, got {weightDecay}.", nameof(weightDecay));
        List<Tensor> a = [], b = [], bNoDecay = [], embedding = [];
        foreach (var (p, kind, part) in lora.TrainableByPart())
        {
            if (kind == LayerKind.Embedding) embedding.Add(p);
            else if (part is AdapterKeyPart.B or AdapterKeyPart.Magnitude) b.Add(p);
            else if (part is null && p.Rank == 1) bNoDecay.Add(p);
            else a.Add(p);
        }
        var groups = new List<ParamGroup>();
        if (a.Count > 0) groups.Add(new ParamGroup(a, lr, weightDecay, "groupA"));
        if (b.Count > 0) groups.Add(new ParamGroup(b, lr * lrRatio, weightDecay, "groupB"));
        if (bNoDecay.Count > 0) groups.Add(new ParamGroup(bNoDecay, lr * lrRatio, 0f, "groupB_no_decay"));
        if (embedding.Count > 0) groups.Add(new ParamGroup(embedding, embeddingLr, weightDecay, "embedding"));
        if (groups.Count == 0) throw new InvalidOperationException("LoRA+: nothing trains (attach an adapter, or load one with isTrainable: true).");
        return groups;
    }

    /// <summary>
    /// PEFT's <c>create_loraplus_optimizer</c> with AdamW: <see cref="AdamW"/> over <see cref="Groups"/>.
    /// </summary>
    public static AdamW CreateOptimizer(LoraModelController lora, float lr, float lrRatio = DefaultLrRatio, float weightDecay = 0f,
        float embeddingLr = DefaultEmbeddingLr, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f) =>
        new(Groups(lora, lr, lrRatio, weightDecay, embeddingLr), beta1, beta2, eps);

    private static void Check(float value, string name)
    {
        if (!(value > 0) || !float.IsFinite(value)) throw new ArgumentException($"LoRA+: {name} must be positive and finite, got {value}.", name);
    }
}
