using System;

namespace LoraGen;

/// <summary>
/// Marks the root module of a model. The generator gives it a <c>Lora</c> facade (attach, parameters, summary,
/// merge, save/load adapters in PEFT's layout). Optional PEFT-style settings (those of
/// <see cref="LoraSettingsAttribute"/>) adapt every field whose name is listed in <see cref="Targets"/> anywhere
/// in the module tree.
/// </summary>
/// <example><code>[LoraModel(Rank = 8, Alpha = 16, Targets = new[] { "q_proj", "v_proj" })]</code></example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LoraModelAttribute : LoraSettingsAttribute
{
    /// <summary>
    /// Module names to adapt, matched like PEFT's <c>target_modules</c> list: a layer matches when its path
    /// equals the name or ends with "." + name. A name that matches nothing is a compile-time error.
    /// </summary>
    public string[]? Targets { get; set; }

    /// <summary>Rank overrides as <c>"name=rank"</c> entries (PEFT's <c>rank_pattern</c>), matched like <see cref="Targets"/>.</summary>
    public string[]? RankPattern { get; set; }

    /// <summary>α overrides as <c>"name=alpha"</c> entries (PEFT's <c>alpha_pattern</c>).</summary>
    public string[]? AlphaPattern { get; set; }

    /// <summary>Recorded as <c>base_model_name_or_path</c> in adapter_config.json.</summary>
    public string? BaseModelName { get; set; }

    /// <summary>
    /// QLoRA: after <c>Attach</c>, the frozen base Linear weights are stored in this format (the managed runtime's
    /// <c>Lora.Quantize</c>); <c>Quantize</c> at run time may choose another. Embedding bases cannot be quantized (LORA0214).
    /// </summary>
    public LoraBaseQuantization BaseQuantization { get; set; }
}
