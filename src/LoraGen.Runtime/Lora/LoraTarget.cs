using LoraGen.Nn;

namespace LoraGen.Lora;

/// <summary>One layer the facade adapts: where it is, what it is, and with which settings.</summary>
/// <param name="Path">Dotted module path, e.g. <c>h.0.attn.q_proj</c>.</param>
/// <param name="Layer">The layer.</param>
/// <param name="Config">The adapter settings for this layer.</param>
/// <param name="Bias">Which biases train.</param>
public sealed record LoraTarget(string Path, IAdaptableLayer Layer, LoraConfig Config, LoraBias Bias);
