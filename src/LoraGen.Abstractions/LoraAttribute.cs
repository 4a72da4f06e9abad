using System;

namespace LoraGen;

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
