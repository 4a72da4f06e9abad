using LoraGen.Contract;
using LoraGen.Peft;

namespace LoraGen.Lora;

/// <summary>
/// A run-time override of the compile-time LoRA settings, for <see cref="LoraModelController.Attach"/> and
/// <see cref="LoraModelController.Load"/>: PEFT's <c>LoraConfig</c> fields under the C# names that
/// <see cref="AdapterConfig"/> uses. Every property left null keeps what the attributes (or the adapter file) say, so
/// a rank/alpha sweep needs no recompile: <c>model.Lora.Attach(config: new() { R = 16, LoraAlpha = 32 })</c>.
/// Values are checked with the same rules as <c>adapter_config.json</c> and the analyzers.
/// </summary>
public sealed record LoraOverride
{
    /// <summary>PEFT <c>r</c>: the rank of every adapted layer (≥ 1).</summary>
    public int? R { get; init; }

    /// <summary>PEFT <c>lora_alpha</c>: α of every adapted layer (positive, finite).</summary>
    public double? LoraAlpha { get; init; }

    /// <summary>PEFT <c>lora_dropout</c>: dropout on the adapter input, in [0, 1).</summary>
    public double? LoraDropout { get; init; }

    /// <summary>
    /// PEFT <c>target_modules</c>: the module names to adapt, replacing the attribute-selected set (a name matches a
    /// path equal to it or ending in <c>.name</c>). A name that matches no Linear/Embedding layer is an error naming it.
    /// </summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>
    /// PEFT <c>target_modules</c> as one string: a regular expression the whole dotted path must match, or
    /// <c>"all-linear"</c> (every Linear but the output head). Replaces the attribute-selected set; cannot be combined
    /// with <see cref="TargetModules"/>, <see cref="LayersToTransform"/> or <see cref="LayersPattern"/> (as in PEFT).
    /// </summary>
    public string? TargetRegex { get; init; }

    /// <summary>PEFT <c>exclude_modules</c>: names (equal to the path or a dotted suffix of it) never adapted.</summary>
    public IReadOnlyList<string>? ExcludeModules { get; init; }

    /// <summary>PEFT <c>layers_to_transform</c>: only layers with these indices (in the list named by <see cref="LayersPattern"/>) are adapted.</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>PEFT <c>layers_pattern</c>: the name of the layer list whose index <see cref="LayersToTransform"/> selects (e.g. "h", "layers").</summary>
    public IReadOnlyList<string>? LayersPattern { get; init; }

    /// <summary>PEFT <c>modules_to_save</c>: Linear/Embedding layers (a path ending with the name) trained and saved in full, per adapter.</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }

    /// <summary>
    /// PEFT <c>trainable_token_indices</c>: embedding name → the token rows trained in place of the base rows
    /// (<see cref="AdapterConfig.InputEmbeddingKey"/>, "", for the model's first Embedding).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>>? TrainableTokenIndices { get; init; }

    /// <summary>PEFT <c>use_rslora</c>: scale by α/√r instead of α/r.</summary>
    public bool? UseRsLora { get; init; }

    /// <summary>
    /// PEFT <c>use_dora</c>: DoRA (a trainable magnitude per output feature) instead of plain LoRA, whatever the
    /// attributes say (Attach only: a loaded adapter's variant is its file's).
    /// </summary>
    public bool? UseDora { get; init; }

    /// <summary>
    /// PEFT <c>init_lora_weights</c> for Attach: Kaiming (<c>true</c>), Gaussian, PiSSA (<c>"pissa"</c>) or OLoRA
    /// (<c>"olora"</c>). PiSSA and OLoRA rewrite the base weights to the residual; saves convert to plain LoRA.
    /// </summary>
    public LoraInit? Init { get; init; }

    /// <summary>PEFT's <c>"pissa_niter_N"</c>: N power iterations of a randomized SVD for PiSSA (0: the exact SVD).</summary>
    public int? PissaNiter { get; init; }

    /// <summary>
    /// LoRA-FA (Zhang et al. 2023): A of every adapted Linear layer stays frozen at its initialization and only B
    /// trains, so the fused LoRA op's backward keeps the rank-r x·Aᵀ instead of the layer input. Attach only; not a
    /// PEFT field: the saved file is a plain LoRA adapter. Embedding adapters are left as they are (their A starts at
    /// zero, so a frozen A would never let B learn).
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

    /// <summary>NoLA <c>num_basis_a</c>: k_A, the number of random A bases per layer (≥ 1; default 64).</summary>
    public int? NumBasisA { get; init; }

    /// <summary>NoLA <c>num_basis_b</c>: k_B, the number of random B bases per layer (≥ 1; default 64).</summary>
    public int? NumBasisB { get; init; }

    /// <summary>PEFT <c>rank_pattern</c>: rank by module name, applied after <see cref="R"/>.</summary>
    public IReadOnlyDictionary<string, int>? RankPattern { get; init; }

    /// <summary>PEFT <c>alpha_pattern</c>: α by module name, applied after <see cref="LoraAlpha"/>.</summary>
    public IReadOnlyDictionary<string, double>? AlphaPattern { get; init; }

    /// <summary>PEFT <c>bias</c>: which biases train (Attach only).</summary>
    public LoraBias? Bias { get; init; }

    /// <summary>
    /// The override a PEFT config spells out (e.g. one parsed with <see cref="AdapterConfig.Parse(string, string?)"/>):
    /// every LoRA field of <paramref name="config"/>, already checked by the PEFT unit's rules.
    /// </summary>
    public static LoraOverride From(AdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var tokens = config.TrainableTokenIndices();
        return new LoraOverride
        {
            R = config.R,
            LoraAlpha = config.LoraAlpha,
            LoraDropout = config.LoraDropout,
            TargetModules = config.TargetModules is { IsSingle: false } list ? list.Items : null,
            TargetRegex = config.TargetModules is { IsSingle: true } one ? one.Single : null,
            ExcludeModules = config.ExcludeModules?.Items,
            LayersToTransform = config.LayersToTransform?.Items,
            LayersPattern = config.LayersPattern?.Items,
            ModulesToSave = config.ModulesToSave,
            TrainableTokenIndices = tokens.Count == 0 ? null : tokens,
            UseRsLora = config.UseRsLora,
            UseDora = config.UseDora ? true : null,
            Init = InitOf(config.InitLoraWeights, out var niter),
            PissaNiter = niter,
            RankPattern = config.RankPattern.Count == 0 ? null : config.RankPattern,
            AlphaPattern = config.AlphaPattern.Count == 0 ? null : config.AlphaPattern,
            Bias = config.Bias,
        };
    }

    /// <summary>PEFT's <c>init_lora_weights</c> as a <see cref="LoraInit"/> (null for <c>true</c>/<c>false</c>); throws for a method LoraGen lacks.</summary>
    private static LoraInit? InitOf(InitLoraWeights init, out int? niter)
    {
        niter = null;
        var m = init.Method;
        if (m is null) return null;
        if (m == ConfigFields.InitGaussian) return LoraInit.Gaussian;
        if (m == ConfigFields.InitOlora) return LoraInit.Olora;
        if (m == ConfigFields.InitPissa) return LoraInit.Pissa;
        var prefix = ConfigFields.InitPissa + ConfigFields.InitPissaNiterInfix;
        if (m.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(m.AsSpan(prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            niter = n;
            return LoraInit.Pissa;
        }
        throw new ArgumentException($"LoRA override: {ConfigFields.InitLoraWeights} \"{m}\" is not one LoraGen implements ({ConfigFields.InitGaussian}, {ConfigFields.InitPissa}, {prefix}N, {ConfigFields.InitOlora}).");
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first bad field (C# and PEFT name) and the rule it breaks.
    /// </summary>
    public void Validate()
    {
        Check(R is { } r ? ConfigRules.Rank(r) : null, nameof(R), ConfigFields.R, R);
        Check(LoraAlpha is { } a ? ConfigRules.Alpha(a) : null, nameof(LoraAlpha), ConfigFields.LoraAlpha, LoraAlpha);
        Check(LoraDropout is { } d ? ConfigRules.Dropout(d) : null, nameof(LoraDropout), ConfigFields.LoraDropout, LoraDropout);
        foreach (var (name, rank) in RankPattern ?? new Dictionary<string, int>())
            Check(ConfigRules.Rank(rank), $"{nameof(RankPattern)}[\"{name}\"]", ConfigFields.RankPattern, rank);
        foreach (var (name, alpha) in AlphaPattern ?? new Dictionary<string, double>())
            Check(ConfigRules.Alpha(alpha), $"{nameof(AlphaPattern)}[\"{name}\"]", ConfigFields.AlphaPattern, alpha);
        if (TargetRegex is not null && TargetModules is not null)
            throw new ArgumentException($"LoRA override: set {nameof(TargetModules)} (a list of names) or {nameof(TargetRegex)} (one regular expression), not both: PEFT's {ConfigFields.TargetModules} is one or the other.");
        try { _ = Selection().ToJson(); }   // the PEFT unit's rules: valid regular expressions, layers_pattern needs layers_to_transform, …
        catch (AdapterConfigException e) { throw new ArgumentException($"LoRA override: {e.Message}", e); }
        if (NumBasisA is < 1) throw new ArgumentException($"LoRA override: {nameof(NumBasisA)} ({ConfigFields.NumBasisA}) = {NumBasisA}: NoLA needs at least one basis.");
        if (NumBasisB is < 1) throw new ArgumentException($"LoRA override: {nameof(NumBasisB)} ({ConfigFields.NumBasisB}) = {NumBasisB}: NoLA needs at least one basis.");
        if (ProjectionPrngKey is < 0) throw new ArgumentException($"LoRA override: {nameof(ProjectionPrngKey)} ({ConfigFields.ProjectionPrngKey}) = {ProjectionPrngKey}: a seed is non-negative.");
        if (DInitial is { } di && !double.IsFinite(di)) throw new ArgumentException($"LoRA override: {nameof(DInitial)} ({ConfigFields.DInitial}) must be finite.");
        if (TargetModules is { Count: 0 })
            throw new ArgumentException($"LoRA override: {nameof(TargetModules)} ({ConfigFields.TargetModules}) is empty; leave it null to keep the attributes' targets.");
    }

    /// <summary>
    /// The override's layer selection as a PEFT config (target_modules, exclude_modules, layers_to_transform,
    /// layers_pattern, modules_to_save), for <see cref="AdapterConfig.SelectLayers"/> and friends.
    /// </summary>
    public AdapterConfig Selection() => new()
    {
        TargetModules = TargetRegex is { } rx ? OneOrMany<string>.One(rx) : TargetModules is { } names ? OneOrMany<string>.Many(names) : null,
        ExcludeModules = ExcludeModules is { } x ? OneOrMany<string>.Many(x) : null,
        LayersToTransform = LayersToTransform is { } l ? OneOrMany<int>.Many(l) : null,
        LayersPattern = LayersPattern is { } p ? OneOrMany<string>.Many(p) : null,
        ModulesToSave = ModulesToSave,
    };

    private static void Check(string? problem, string field, string peftField, object? value)
    {
        if (problem is not null)
            throw new ArgumentException($"LoRA override: {field} ({peftField}) = {value}: {problem}.");
    }

    /// <summary><paramref name="config"/> for the layer at <paramref name="path"/>, with this override applied.</summary>
    public LoraConfig Apply(string path, LoraConfig config)
    {
        if (R is { } r) config = config with { Rank = r };
        if (LoraAlpha is { } a) config = config with { Alpha = a };
        if (LoraDropout is { } d) config = config with { Dropout = d };
        if (UseRsLora is { } rs) config = config with { UseRsLora = rs };
        if (UseDora is { } dora) config = config with { UseDora = dora };
        if (Init is { } init) config = config with { Init = init };
        if (PissaNiter is { } n) config = config with { PissaNiter = n };
        if (Variant is { } v) config = config with { Variant = v };
        foreach (var (name, rank) in RankPattern ?? new Dictionary<string, int>())
            if (ModulePath.Matches(path, name)) { config = config with { Rank = rank }; break; }
        foreach (var (name, alpha) in AlphaPattern ?? new Dictionary<string, double>())
            if (ModulePath.Matches(path, name)) { config = config with { Alpha = alpha }; break; }
        return config;
    }
}
