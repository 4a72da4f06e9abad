using LoraGen.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// LoRA+ (Hayou et al. 2024) for TorchSharp's optimizers, as the managed backend's <c>LoraPlus</c> and PEFT's
/// <c>create_loraplus_optimizer</c>: B learns λ times faster than A (λ = <c>loraplus_lr_ratio</c>, default 16), in
/// four parameter groups over what <see cref="TorchLoraModelController.Parameters"/> returns plus the base parameters
/// the bias setting left trainable:
/// <list type="bullet">
/// <item><c>groupA</c>: Linear A (and any unfrozen 2-D base weight) — lr, weight decay.</item>
/// <item><c>groupB</c>: Linear B and DoRA's magnitude — lr·λ, weight decay.</item>
/// <item><c>groupB_no_decay</c>: unfrozen 1-D base parameters (biases) — lr·λ, no weight decay.</item>
/// <item><c>embedding</c>: the adapters of Embedding layers — <c>loraplus_lr_embedding</c> (PEFT's default 1e-6), weight decay.</item>
/// </list>
/// Empty groups are left out; <see cref="Groups"/> returns them in this order.
/// </summary>
public static class TorchLoraPlus
{
    /// <summary>PEFT's default <c>loraplus_lr_ratio</c> (λ).</summary>
    public const double DefaultLrRatio = 16;

    /// <summary>PEFT's default <c>loraplus_lr_embedding</c>.</summary>
    public const double DefaultEmbeddingLr = 1e-6;

    /// <summary>
    /// The LoRA+ groups of <paramref name="lora"/>'s trainable parameters (see the type's remarks). Throws
    /// <see cref="ArgumentException"/> for a non-positive or non-finite learning rate or ratio, or a negative weight decay.
    /// </summary>
    public static IReadOnlyList<TorchLoraPlusGroup> Groups(TorchLoraModelController lora, double lr, double lrRatio = DefaultLrRatio,
        double weightDecay = 0, double embeddingLr = DefaultEmbeddingLr)
    {
        ArgumentNullException.ThrowIfNull(lora);
        Check(lr, nameof(lr));
        Check(lrRatio, nameof(lrRatio));
        Check(embeddingLr, nameof(embeddingLr));
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw new ArgumentException($"LoRA+: weight decay must be ≥ 0 and finite, got {weightDecay}.", nameof(weightDecay));
        List<Parameter> a = [], b = [], bNoDecay = [], embedding = [];
        foreach (var (p, kind, part) in lora.TrainableByPart())
        {
            if (kind == LayerKind.Embedding) embedding.Add(p);
            else if (part is AdapterKeyPart.B or AdapterKeyPart.Magnitude) b.Add(p);
            else if (part is null && p.dim() == 1) bNoDecay.Add(p);
            else a.Add(p);
        }
        var groups = new List<TorchLoraPlusGroup>();
        if (a.Count > 0) groups.Add(new TorchLoraPlusGroup("groupA", a, lr, weightDecay));
        if (b.Count > 0) groups.Add(new TorchLoraPlusGroup("groupB", b, lr * lrRatio, weightDecay));
        if (bNoDecay.Count > 0) groups.Add(new TorchLoraPlusGroup("groupB_no_decay", bNoDecay, lr * lrRatio, 0));
        if (embedding.Count > 0) groups.Add(new TorchLoraPlusGroup("embedding", embedding, embeddingLr, weightDecay));
        if (groups.Count == 0) throw new InvalidOperationException("LoRA+: nothing trains (attach or load an adapter first).");
        return groups;
    }

    /// <summary>PEFT's <c>create_loraplus_optimizer</c> with AdamW: <c>torch.optim.AdamW</c> over <see cref="Groups"/>.</summary>
    public static AdamW CreateOptimizer(TorchLoraModelController lora, double lr, double lrRatio = DefaultLrRatio, double weightDecay = 0,
        double embeddingLr = DefaultEmbeddingLr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8) =>
        torch.optim.AdamW(
            Groups(lora, lr, lrRatio, weightDecay, embeddingLr).Select(g => new AdamW.ParamGroup(g.Parameters, lr: g.LearningRate, weight_decay: g.WeightDecay)),
            lr, beta1, beta2, eps, weightDecay);

    private static void Check(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value)) throw new ArgumentException($"LoRA+: {name} must be positive and finite, got {value}.", name);
    }
}
