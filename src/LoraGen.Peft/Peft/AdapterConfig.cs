using System.Collections.ObjectModel;
using System.Text.Json;
using LoraGen.Contract;

namespace LoraGen.Peft;

/// <summary>
/// A PEFT LoRA config: the contents of <c>adapter_config.json</c>, with C# names for the fields LoraGen reads and
/// every other field kept as raw JSON (<see cref="OtherFields"/>), so a config written by any PEFT version goes back
/// out unchanged.
/// <para>
/// One rule set, for files read and configs built in code alike: a missing field takes PEFT's own default
/// (<c>r</c> 8, <c>lora_alpha</c> 8, <c>lora_dropout</c> 0, <c>bias</c> "none", …); a field of the wrong type or out
/// of range throws <see cref="AdapterConfigException"/> naming the field and the file.
/// </para>
/// <para>
/// <see cref="ToJson"/> writes what PEFT writes (<c>json.dumps(config, indent=2, sort_keys=True)</c>); a parsed config
/// keeps the exact literal of every value that was not changed (<c>16</c> stays <c>16</c>, <c>16.0</c> stays
/// <c>16.0</c>), so parsing a PEFT file and writing it back gives the same bytes.
/// </para>
/// Two configs are equal when they write the same JSON.
/// </summary>
public sealed partial record AdapterConfig
{
    private static LoraBias DefaultBias => (LoraBias)Array.IndexOf(EnumNames.PeftBias, PeftDefaults.Bias);

    /// <summary>What a parsed config's known fields looked like in the file, to keep their literals when unchanged.</summary>
    private IReadOnlyDictionary<string, (JsonElement Raw, string Canonical)>? _source;

    /// <summary><c>r</c>: the rank of every adapted layer not named in <see cref="RankPattern"/> (PEFT default 8).</summary>
    public int R { get; init; } = PeftDefaults.R;

    /// <summary><c>lora_alpha</c>: α, the scaling numerator, for layers not named in <see cref="AlphaPattern"/> (PEFT default 8).</summary>
    public double LoraAlpha { get; init; } = PeftDefaults.LoraAlpha;

    /// <summary><c>lora_dropout</c>: dropout on the LoRA path, in [0, 1) (PEFT default 0).</summary>
    public double LoraDropout { get; init; } = PeftDefaults.LoraDropout;

    /// <summary>
    /// <c>target_modules</c>: a list of module names (a path matches a name when it equals it or ends with "." + name),
    /// or one string, which is a regular expression the whole path must match (or PEFT's <c>"all-linear"</c>);
    /// null when the file has none (PEFT then picks per model architecture).
    /// </summary>
    public OneOrMany<string>? TargetModules { get; init; }

    /// <summary><c>exclude_modules</c>: modules never adapted, by the same rules as <see cref="TargetModules"/>.</summary>
    public OneOrMany<string>? ExcludeModules { get; init; }

    /// <summary><c>bias</c>: which biases train ("none", "all", "lora_only").</summary>
    public LoraBias Bias { get; init; } = DefaultBias;

    /// <summary><c>use_rslora</c>: scale by α/√r instead of α/r.</summary>
    public bool UseRsLora { get; init; } = PeftDefaults.UseRsLora;

    /// <summary><c>use_dora</c>: weight-decomposed LoRA (a magnitude vector per layer).</summary>
    public bool UseDora { get; init; } = PeftDefaults.UseDora;

    /// <summary><c>fan_in_fan_out</c>: the base layer stores W as [in, out] (GPT-2's Conv1D).</summary>
    public bool FanInFanOut { get; init; } = PeftDefaults.FanInFanOut;

    /// <summary><c>init_lora_weights</c>: <c>true</c>, <c>false</c> or a method name such as "gaussian" or "pissa".</summary>
    public InitLoraWeights InitLoraWeights { get; init; } = InitLoraWeights.FromBool(PeftDefaults.InitLoraWeights);

    /// <summary>
    /// <c>rank_pattern</c>: per-layer ranks. Each key is a regular expression matched against the whole path or a
    /// dotted suffix of it (so a module name or a full path both work); the first matching key, in this
    /// dictionary's order (the file's order when parsed), wins. See <see cref="RankFor"/>.
    /// </summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = ReadOnlyDictionary<string, int>.Empty;

    /// <summary><c>alpha_pattern</c>: per-layer α, matched as <see cref="RankPattern"/>. See <see cref="AlphaFor"/>.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = ReadOnlyDictionary<string, double>.Empty;

    /// <summary><c>task_type</c>: e.g. "CAUSAL_LM", or null.</summary>
    public string? TaskType { get; init; }

    /// <summary><c>base_model_name_or_path</c>: the base model's hub id or path, or null.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary><c>revision</c>: the base model's revision, or null.</summary>
    public string? Revision { get; init; }

    /// <summary><c>inference_mode</c>: the adapter was saved for inference (PEFT writes true when saving).</summary>
    public bool InferenceMode { get; init; } = PeftDefaults.InferenceMode;

    /// <summary><c>layers_to_transform</c>: only these layer indices are adapted (one int or a list), or null for all.</summary>
    public OneOrMany<int>? LayersToTransform { get; init; }

    /// <summary><c>layers_pattern</c>: the name(s) of the layer list whose index <see cref="LayersToTransform"/> selects (e.g. "layers", "h").</summary>
    public OneOrMany<string>? LayersPattern { get; init; }

    /// <summary><c>modules_to_save</c>: modules trained and saved in full besides the adapters, or null.</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }

    /// <summary><c>peft_type</c>: always "LORA" (a file with another type is rejected).</summary>
    public string PeftType => ConfigFields.LoraPeftType;

    /// <summary>
    /// Every other field of the file (PEFT has many more: <c>lora_bias</c>, <c>megatron_core</c>, <c>peft_version</c>,
    /// <c>eva_config</c>, …), as raw JSON, written back as it is. Must not repeat a field that has a property.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement> OtherFields { get; init; } = ReadOnlyDictionary<string, JsonElement>.Empty;

    // ------------------------------------------------------------------ per-layer settings

    /// <summary>The rank of the layer at <paramref name="path"/>: the first matching <see cref="RankPattern"/> key's value, else <see cref="R"/>.</summary>
    public int RankFor(string path)
    {
        foreach (var (key, value) in RankPattern)
            if (PeftRegex.MatchesPatternKey(key, path)) return value;
        return R;
    }

    /// <summary>α of the layer at <paramref name="path"/>: the first matching <see cref="AlphaPattern"/> key's value, else <see cref="LoraAlpha"/>.</summary>
    public double AlphaFor(string path)
    {
        foreach (var (key, value) in AlphaPattern)
            if (PeftRegex.MatchesPatternKey(key, path)) return value;
        return LoraAlpha;
    }

    /// <summary>The LoRA scaling of the layer at <paramref name="path"/>: α/r, or α/√r with <see cref="UseRsLora"/>.</summary>
    public double ScalingFor(string path)
    {
        double r = RankFor(path);
        return AlphaFor(path) / (UseRsLora ? Math.Sqrt(r) : r);
    }

    /// <summary>
    /// Whether PEFT adapts the layer at <paramref name="path"/> (a dotted path from the model root, as PyTorch names
    /// modules): not excluded by <see cref="ExcludeModules"/> or <see cref="ModulesToSave"/>, and matched by
    /// <see cref="TargetModules"/> (a list: equal to or ending with "." + a name, then filtered by
    /// <see cref="LayersToTransform"/>/<see cref="LayersPattern"/>; a string: a regular expression matching the
    /// whole path). <c>"all-linear"</c> matches every <see cref="LayerKind.Linear"/> layer; leaving out the output
    /// layer, as PEFT does, takes the whole model: <see cref="SelectLayers"/>. With no <see cref="TargetModules"/> nothing matches.
    /// </summary>
    public bool IsTargeted(string path, LayerKind kind = LayerKind.Linear)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (IsExcluded(path) || IsModuleToSave(path)) return false;
        if (TargetModules is not { } targets) return false;
        if (targets.IsSingle) return IsAllLinear ? kind == LayerKind.Linear : PeftRegex.FullMatch(targets.Single, path);
        return targets.Items.Any(n => TargetMatching.Matches(path, n)) && IsInSelectedLayers(path);
    }
}
