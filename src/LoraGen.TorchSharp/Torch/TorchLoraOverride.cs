namespace LoraGen.Torch;

/// <summary>
/// A run-time override of the compile-time LoRA settings for <see cref="TorchLoraModelController.Attach"/> (the
/// managed backend's <c>LoraOverride</c>, same names): PEFT's <c>LoraConfig</c> fields under the C# names that
/// <see cref="Peft.AdapterConfig"/> uses. Every property left null keeps what the attributes say, so a rank sweep or a
/// switch to DoRA or PiSSA needs no recompile: <c>model.Lora.Attach(config: new() { UseDora = true })</c>.
/// </summary>
public sealed record TorchLoraOverride
{
    /// <summary>PEFT <c>r</c>: the rank of every adapted layer (≥ 1).</summary>
    public int? R { get; init; }

    /// <summary>PEFT <c>lora_alpha</c>: α of every adapted layer (positive, finite).</summary>
    public double? LoraAlpha { get; init; }

    /// <summary>PEFT <c>lora_dropout</c>: dropout on the adapter input, in [0, 1).</summary>
    public double? LoraDropout { get; init; }

    /// <summary>PEFT <c>use_rslora</c>: scale by α/√r instead of α/r.</summary>
    public bool? UseRsLora { get; init; }

    /// <summary>PEFT <c>use_dora</c>: DoRA (a trainable magnitude per output feature) instead of plain LoRA.</summary>
    public bool? UseDora { get; init; }

    /// <summary>
    /// PEFT <c>init_lora_weights</c>: Kaiming (<c>true</c>), Gaussian, PiSSA (<c>"pissa"</c>) or OLoRA (<c>"olora"</c>).
    /// PiSSA and OLoRA rewrite the base weights to the residual; saves convert to plain LoRA.
    /// </summary>
    public LoraInit? Init { get; init; }

    /// <summary>PEFT's <c>"pissa_niter_N"</c>: N power iterations of a randomized SVD for PiSSA (0: the exact SVD).</summary>
    public int? PissaNiter { get; init; }

    /// <summary>
    /// LoRA-FA (Zhang et al. 2023): A of every adapted Linear layer stays frozen at its initialization and only B
    /// trains. Not a PEFT field: the saved file is a plain LoRA adapter. Embedding adapters are left as they are.
    /// </summary>
    public bool? FreezeA { get; init; }

    /// <summary><paramref name="config"/> with this override's settings applied.</summary>
    public TorchLoraConfig Apply(TorchLoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config with
        {
            Rank = R ?? config.Rank,
            Alpha = LoraAlpha ?? config.Alpha,
            Dropout = LoraDropout ?? config.Dropout,
            UseRsLora = UseRsLora ?? config.UseRsLora,
            UseDora = UseDora ?? config.UseDora,
            Init = Init ?? config.Init,
            PissaNiter = PissaNiter ?? config.PissaNiter,
        };
    }
}
