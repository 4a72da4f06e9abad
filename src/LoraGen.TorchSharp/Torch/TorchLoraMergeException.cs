namespace LoraGen.Torch;

/// <summary>A safe merge found NaN or Inf in the merged weight; the weight was left unchanged.</summary>
public sealed class TorchLoraMergeException(string layer, string adapter, string detail)
    : Exception($"{layer}: safe merge of adapter '{adapter}' refused: {detail}")
{
    /// <summary>The layer (its registered name).</summary>
    public string Layer { get; } = layer;

    /// <summary>The adapter.</summary>
    public string Adapter { get; } = adapter;
}
