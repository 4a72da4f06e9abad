namespace LoraGen.Torch;

/// <summary>What the facade drives on every adapted layer, LoRA (<see cref="TorchLoraLayer"/>) or VeRA/NoLA (<see cref="TorchBasisLayer"/>).</summary>
public interface ITorchAdapterLayer
{
    /// <summary>When true the layer's hook adds nothing.</summary>
    bool Disabled { get; set; }

    /// <summary>True when an adapter is folded into the base weight.</summary>
    bool IsMerged { get; }

    /// <summary>Folds the active adapter(s) into W (<paramref name="safe"/>: refuse NaN/Inf, W unchanged).</summary>
    void Merge(bool safe = false);

    /// <summary>Restores W bit for bit from the copy the first merge took.</summary>
    void Unmerge();
}
