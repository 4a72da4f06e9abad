namespace LoraGen.Torch;

/// <summary>The compile-time <c>[Lora]</c> settings of one TorchSharp Linear/Embedding field (the generator emits one per field).</summary>
/// <param name="Config">Rank, alpha, dropout, init and rsLoRA of the field's adapters.</param>
/// <param name="Bias">Which biases train alongside the adapter.</param>
public sealed record TorchLoraFieldSpec(TorchLoraConfig Config, LoraBias Bias = LoraBias.None);
