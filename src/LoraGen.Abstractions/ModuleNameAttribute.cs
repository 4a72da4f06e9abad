using System;

namespace LoraGen;

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
