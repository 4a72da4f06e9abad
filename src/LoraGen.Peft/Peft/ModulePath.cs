using LoraGen.Contract;

namespace LoraGen.Peft;

/// <summary>Dotted module paths as PyTorch names them, and PEFT's rule for matching them against module names.</summary>
public static class ModulePath
{
    /// <summary><c>parent.name</c>, or <c>name</c> at the root.</summary>
    public static string Join(string parent, string name) => TargetMatching.Join(parent, name);

    /// <summary>
    /// PEFT's rule for <c>target_modules</c>, <c>rank_pattern</c> and <c>alpha_pattern</c> entries: the path equals the
    /// name or ends with "." + name.
    /// </summary>
    public static bool Matches(string path, string name) => TargetMatching.Matches(path, name);

    /// <summary>The last segment of a dotted path (<c>h.0.attn.q_proj</c> → <c>q_proj</c>).</summary>
    public static string LastSegment(string path) => TargetMatching.LastSegment(path);
}
