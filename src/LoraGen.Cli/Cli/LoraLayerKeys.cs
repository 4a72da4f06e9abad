using LoraGen.Peft;

namespace LoraGen.Cli;

/// <summary>One adapted layer of an adapter file: its module path, kind and the keys of A and B.</summary>
internal sealed record LoraLayerKeys(string Path, LayerKind Kind, string AKey, string BKey)
{
    /// <summary>The base checkpoint's key of the weight this layer adapts (<c>PATH.weight</c>).</summary>
    public string BaseKey => Path + Contract.PeftKeys.WeightSuffix;
}
