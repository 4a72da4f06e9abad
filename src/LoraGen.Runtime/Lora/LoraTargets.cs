using LoraGen.Nn;

namespace LoraGen.Lora;

/// <summary>The settings a <c>[Lora]</c> field declares, fixed at compile time by the generator.</summary>
/// <param name="Config">Rank, alpha, dropout, init and scaling rule.</param>
/// <param name="Bias">Which biases train.</param>
public sealed record LoraFieldSpec(LoraConfig Config, LoraBias Bias = LoraBias.None);

/// <summary>Receives every adaptable layer of a module tree, with its path and its <c>[Lora]</c> settings if any.</summary>
public interface ILoraTargetVisitor
{
    /// <summary>Called once per Linear/Embedding layer; <paramref name="spec"/> is null when the field has no <c>[Lora]</c>.</summary>
    void Visit(string path, ILoraTarget layer, LoraFieldSpec? spec);
}

/// <summary>Dotted module paths, as PyTorch names them.</summary>
public static class ModulePath
{
    /// <summary><c>parent.name</c>, or <c>name</c> at the root.</summary>
    public static string Join(string parent, string name) => parent.Length == 0 ? name : parent + "." + name;

    /// <summary>
    /// PEFT's matching rule for <c>target_modules</c>, <c>rank_pattern</c> and <c>alpha_pattern</c> entries: the
    /// path equals the name or ends with "." + name.
    /// </summary>
    public static bool Matches(string path, string name) =>
        path == name || (path.Length > name.Length && path.EndsWith(name, StringComparison.Ordinal) && path[path.Length - name.Length - 1] == '.');
}

/// <summary>The <c>[LoraModel]</c> settings of a root model, emitted by the generator as a static value.</summary>
/// <param name="Defaults">Settings for layers selected by name through <paramref name="Targets"/>.</param>
/// <param name="Bias">Which biases train.</param>
/// <param name="Targets">Module names to adapt (PEFT's <c>target_modules</c>); empty when only <c>[Lora]</c> fields are adapted.</param>
/// <param name="RankPattern">Rank overrides by module name.</param>
/// <param name="AlphaPattern">Alpha overrides by module name.</param>
/// <param name="BaseModelName">Written as <c>base_model_name_or_path</c>.</param>
public sealed record LoraModelOptions(
    LoraConfig Defaults,
    LoraBias Bias,
    IReadOnlyList<string> Targets,
    IReadOnlyDictionary<string, int> RankPattern,
    IReadOnlyDictionary<string, double> AlphaPattern,
    string? BaseModelName)
{
    /// <summary>Options for a model whose adapters are all declared with <c>[Lora]</c>.</summary>
    public static LoraModelOptions FromFieldsOnly { get; } = new(new LoraConfig(8, 8), LoraBias.None, [],
        new Dictionary<string, int>(), new Dictionary<string, double>(), null);
}

/// <summary>One layer the facade adapts: where it is, what it is, and with which settings.</summary>
/// <param name="Path">Dotted module path, e.g. <c>h.0.attn.q_proj</c>.</param>
/// <param name="Layer">The layer.</param>
/// <param name="Config">The adapter settings for this layer.</param>
/// <param name="Bias">Which biases train.</param>
public sealed record LoraTarget(string Path, ILoraTarget Layer, LoraConfig Config, LoraBias Bias);
