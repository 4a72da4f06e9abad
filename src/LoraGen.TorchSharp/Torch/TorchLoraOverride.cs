using LoraGen.Contract;
using LoraGen.Peft;

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

    /// <summary>
    /// The variant of the new adapter (<see cref="LoraVariant.Vera"/>, <see cref="LoraVariant.Nola"/> or plain LoRA),
    /// whatever the attributes say (Attach only: a loaded adapter's variant is its file's <c>peft_type</c>).
    /// </summary>
    public LoraVariant? Variant { get; init; }

    /// <summary>VeRA <c>projection_prng_key</c> (NoLA: <c>nola_seed</c>): the seed of the frozen random matrices (default 0, as PEFT).</summary>
    public long? ProjectionPrngKey { get; init; }

    /// <summary>VeRA <c>save_projection</c>: whether saves carry the shared projections (default true, as PEFT).</summary>
    public bool? SaveProjection { get; init; }

    /// <summary>VeRA <c>d_initial</c>: the initial value of every λ_d (default 0.1).</summary>
    public double? DInitial { get; init; }

    /// <summary>NoLA <c>num_basis_a</c>: k_A, the number of random A bases per layer (≥ 1; default the attribute's NolaBases).</summary>
    public int? NumBasisA { get; init; }

    /// <summary>NoLA <c>num_basis_b</c>: k_B, the number of random B bases per layer (≥ 1; default the attribute's NolaBases).</summary>
    public int? NumBasisB { get; init; }

    /// <summary>
    /// PEFT <c>target_modules</c>: the module names to adapt, replacing the attribute-selected set (a name matches a
    /// path equal to it or ending in <c>.name</c>). A name that matches no Linear/Embedding layer is an error naming it.
    /// </summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>
    /// PEFT <c>target_modules</c> as one string: a regular expression the whole dotted path must match, or
    /// <c>"all-linear"</c> (every Linear but the output head). Not with <see cref="TargetModules"/>.
    /// </summary>
    public string? TargetRegex { get; init; }

    /// <summary>PEFT <c>exclude_modules</c>: names (equal to the path or a dotted suffix of it) never adapted.</summary>
    public IReadOnlyList<string>? ExcludeModules { get; init; }

    /// <summary>PEFT <c>layers_to_transform</c>: only layers with these indices (in the list named by <see cref="LayersPattern"/>) are adapted.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>PEFT <c>layers_pattern</c>: the name of the layer list whose index <see cref="LayersToTransform"/> selects (e.g. "h", "layers").</summary>
    public IReadOnlyList<string>? LayersPattern { get; init; }

    /// <summary>
    /// The layer-selection fields as an <see cref="AdapterConfig"/> (target_modules, exclude_modules,
    /// layers_to_transform, layers_pattern), for <see cref="AdapterConfig.SelectLayers"/>; null when none is set.
    /// </summary>
    public AdapterConfig? Selection()
    {
        if (TargetModules is null && TargetRegex is null && ExcludeModules is null && LayersToTransform is null && LayersPattern is null) return null;
        if (TargetRegex is not null && TargetModules is not null)
            throw new ArgumentException($"LoRA override: set {nameof(TargetModules)} (a list of names) or {nameof(TargetRegex)} (one regular expression), not both: PEFT's {ConfigFields.TargetModules} is one or the other.");
        var selection = new AdapterConfig
        {
            TargetModules = TargetRegex is { } rx ? OneOrMany<string>.One(rx) : TargetModules is { } names ? OneOrMany<string>.Many(names) : null,
            ExcludeModules = ExcludeModules is { } x ? OneOrMany<string>.Many(x) : null,
            LayersToTransform = LayersToTransform is { } l ? OneOrMany<int>.Many(l) : null,
            LayersPattern = LayersPattern is { } p ? OneOrMany<string>.Many(p) : null,
        };
        try { _ = selection.ToJson(); }   // the PEFT unit's rules: valid regular expressions, layers_pattern needs layers_to_transform, …
        catch (AdapterConfigException e) { throw new ArgumentException($"LoRA override: {e.Message}", e); }
        return selection;
    }

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
            Variant = Variant ?? config.Variant,
        };
    }
}
