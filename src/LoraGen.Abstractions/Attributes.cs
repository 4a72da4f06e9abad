using System;

namespace LoraGen
{
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

        /// <summary>Which biases train. Default <see cref="LoraBias.None"/>.</summary>
        public LoraBias Bias { get; set; } = LoraBias.None;
    }

    /// <summary>
    /// Adapts a <c>Linear</c> or <c>Embedding</c> field with a low-rank adapter: the layer's own <c>Forward</c>
    /// then computes <c>W x + b + scaling · B A dropout(x)</c>, with A [r, in], B [out, r] (B zero-initialized)
    /// and scaling = Alpha / Rank (Alpha / √Rank with <see cref="LoraSettingsAttribute.UseRsLora"/>).
    /// </summary>
    /// <example><code>[Lora(Rank = 8, Alpha = 16, Dropout = 0.05)] readonly Linear q_proj;</code></example>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
    public sealed class LoraAttribute : LoraSettingsAttribute
    {
        /// <summary>
        /// The module name used in paths and safetensors keys when the C# field name differs from the Python
        /// module name (e.g. field <c>_qProj</c>, name <c>"q_proj"</c>).
        /// </summary>
        public string? Name { get; set; }
    }

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
    }

    /// <summary>Renames a child module in paths and safetensors keys (default: the field name).</summary>
    /// <example><code>[ModuleName("ln_f")] readonly LayerNorm _finalNorm;</code></example>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
    public sealed class ModuleNameAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        public ModuleNameAttribute(string name) => Name = name;

        /// <summary>The path segment.</summary>
        public string Name { get; }
    }
}
