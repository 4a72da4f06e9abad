using System;

namespace LoraGen;

/// <summary>The adapter settings shared by <see cref="LoraAttribute"/> and <see cref="LoraModelAttribute"/>.</summary>
public abstract class LoraSettingsAttribute : Attribute
{
    /// <summary>The rank r of the adapter. Default 8.</summary>
    public int Rank { get; set; } = 8;

    /// <summary>The scaling numerator α. When not set it equals <see cref="Rank"/> (scaling 1).</summary>
    public double Alpha { get; set; }

    /// <summary>Dropout probability on the adapter's input, in [0, 1). Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>How A is initialized. Default <see cref="LoraInit.Kaiming"/>.</summary>
    public LoraInit Init { get; set; } = LoraInit.Kaiming;

    /// <summary>Rank-stabilized LoRA: scaling α/√r instead of α/r.</summary>
    public bool UseRsLora { get; set; }

    /// <summary>
    /// DoRA (weight-decomposed LoRA, PEFT's <c>use_dora</c>): a trainable magnitude per output feature rescales the
    /// adapted weight, W' = m ⊙ (W + s·BA) / ‖W + s·BA‖. The compile-time default; a run-time config or a loaded adapter
    /// file may choose otherwise. Both backends (managed and TorchSharp) apply it.
    /// </summary>
    public bool UseDora { get; set; }

    /// <summary>
    /// The adapter's form: plain LoRA (default), <see cref="LoraVariant.Vera"/> (shared frozen projections, trainable
    /// λ_b [out] and λ_d [r]; every VeRA layer needs the same rank, LORA0210) or <see cref="LoraVariant.Nola"/> (frozen
    /// random bases, trainable coefficients). Linear layers only (LORA0212). A run-time override or a loaded file may choose another.
    /// </summary>
    public LoraVariant Variant { get; set; } = LoraVariant.Lora;

    /// <summary>NoLA's number of random bases k for A and for B (≥ 1, LORA0211): the layer trains 2k numbers.</summary>
    public int NolaBases { get; set; } = 64;

    /// <summary>Which biases train. Default <see cref="LoraBias.None"/>.</summary>
    public LoraBias Bias { get; set; } = LoraBias.None;
}
