using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// A TorchSharp module with <c>[Lora]</c> fields: the generator implements it on the module's partial class, handing
/// each field's current layer with its compile-time settings to <see cref="TorchLoraModelController"/>, which finds
/// the layer's path by identity in the registered module tree (no reflection).
/// </summary>
public interface ITorchLoraFields
{
    /// <summary>Every <c>[Lora]</c> field's layer (fields still null are skipped) with its settings.</summary>
    IEnumerable<(nn.Module Layer, TorchLoraFieldSpec Spec)> LoraFields();
}
