using LoraGen;

namespace LoraGen.Peft;

/// <summary>
/// One layer a VeRA/NoLA adapter is about to be attached to, as either backend describes it: its path and the
/// constant settings that must agree across the adapter's layers (one file holds one r, one dropout and, for NoLA, one α).
/// </summary>
/// <param name="Path">The layer's module path (e.g. <c>h.0.attn.q_proj</c>).</param>
/// <param name="Rank">r for this layer.</param>
/// <param name="Alpha">lora_alpha for this layer (NoLA's scaling is α / r).</param>
/// <param name="Dropout">Dropout on the adapter input.</param>
/// <param name="NolaBases">NoLA's default number of bases (k) for A and B.</param>
public readonly record struct BasisLayerSettings(string Path, int Rank, double Alpha, double Dropout, int NolaBases)
{
    /// <summary>
    /// The adapter-wide settings for <paramref name="layers"/> (non-empty), or, when the layers disagree, one sentence per
    /// disagreement added to <paramref name="problems"/> (both backends refuse with the same words). Run-time overrides
    /// (<paramref name="seed"/>, <paramref name="saveProjection"/>, <paramref name="dInitial"/>, k for A and B) replace
    /// the defaults when given.
    /// </summary>
    public static BasisAdapterConfig Combine(LoraVariant variant, IReadOnlyList<BasisLayerSettings> layers, long? seed, bool? saveProjection,
        double? dInitial, int? numBasisA, int? numBasisB, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(problems);
        if (layers.Count == 0) throw new ArgumentException("at least one layer is needed.", nameof(layers));
        var first = layers[0];
        if (layers.FirstOrDefault(t => t.Rank != first.Rank) is { Path: not null } other)
            problems.Add($"{variant} needs one rank for every layer ({(variant == LoraVariant.Vera ? "the projection is shared" : "one r in the file")}): '{first.Path}' has {first.Rank}, '{other.Path}' has {other.Rank} (LORA0210).");
        if (layers.FirstOrDefault(t => t.Dropout != first.Dropout || (variant == LoraVariant.Nola && t.Alpha != first.Alpha)) is { Path: not null } odd)
            problems.Add($"{variant} has one dropout{(variant == LoraVariant.Nola ? " and one α" : "")} per adapter: '{first.Path}' and '{odd.Path}' differ.");
        return new BasisAdapterConfig
        {
            Variant = variant,
            R = first.Rank,
            Seed = seed ?? 0,
            SaveProjection = saveProjection ?? true,
            Dropout = first.Dropout,
            DInitial = dInitial ?? 0.1,
            LoraAlpha = first.Alpha,
            NumBasisA = numBasisA ?? first.NolaBases,
            NumBasisB = numBasisB ?? first.NolaBases,
        };
    }
}
