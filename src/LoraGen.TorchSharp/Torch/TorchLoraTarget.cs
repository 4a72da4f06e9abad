using LoraGen.Peft;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>One layer the facade adapts.</summary>
/// <param name="Path">The layer's module path (<c>blocks.0.q_proj</c>), as PEFT keys use it.</param>
/// <param name="Owner">The module the layer is registered on (where its LoRA layer is registered too).</param>
/// <param name="Layer">The TorchSharp Linear or Embedding.</param>
/// <param name="Kind">Linear or Embedding.</param>
/// <param name="Config">The adapter settings for this layer.</param>
/// <param name="Bias">Which biases train.</param>
public sealed record TorchLoraTarget(string Path, nn.Module Owner, nn.Module<Tensor, Tensor> Layer, LayerKind Kind, TorchLoraConfig Config, LoraBias Bias);
