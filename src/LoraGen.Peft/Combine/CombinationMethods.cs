using LoraGen.Contract;

namespace LoraGen.Combine;

/// <summary>PEFT's <c>combination_type</c> spellings of <see cref="CombinationMethod"/>, both ways.</summary>
public static class CombinationMethods
{
    /// <summary>Every PEFT name LoraGen implements (<c>linear</c>, <c>cat</c>, <c>svd</c>, <c>ties</c>, <c>dare_linear</c>, …).</summary>
    public static IReadOnlyList<string> Names => CombinationTypes.All;

    /// <summary>PEFT's name of <paramref name="method"/>.</summary>
    public static string PeftName(CombinationMethod method) =>
        (int)method >= 0 && (int)method < CombinationTypes.All.Length ? CombinationTypes.All[(int)method] : method.ToString();

    /// <summary>The method PEFT calls <paramref name="name"/>; false for a name LoraGen does not implement.</summary>
    public static bool TryParse(string name, out CombinationMethod method)
    {
        int i = Array.IndexOf(CombinationTypes.All, name);
        method = (CombinationMethod)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>The method PEFT calls <paramref name="name"/>; <see cref="ArgumentException"/> naming the known ones otherwise.</summary>
    public static CombinationMethod Parse(string name) =>
        TryParse(name, out var m) ? m : throw new ArgumentException($"combination type '{name}' is not one of {string.Join(", ", CombinationTypes.All)}.", nameof(name));

    /// <summary>Whether <paramref name="method"/> needs <see cref="TaskArithmeticOptions"/> (a density).</summary>
    public static bool NeedsDensity(CombinationMethod method) =>
        method is CombinationMethod.Ties or CombinationMethod.DareLinear or CombinationMethod.DareTies or CombinationMethod.MagnitudePrune
            or CombinationMethod.TiesSvd or CombinationMethod.DareLinearSvd or CombinationMethod.DareTiesSvd or CombinationMethod.MagnitudePruneSvd;

    /// <summary>
    /// Whether <paramref name="method"/> ends in a truncated SVD (PEFT's names ending in <c>svd</c>): its rank is PEFT's
    /// <c>svd_rank</c> (default the largest input rank), the inputs may have any ranks, and PEFT's <c>svd_clamp</c> applies.
    /// </summary>
    public static bool IsSvd(CombinationMethod method) =>
        method is CombinationMethod.Svd or CombinationMethod.TiesSvd or CombinationMethod.DareLinearSvd or CombinationMethod.DareTiesSvd
            or CombinationMethod.MagnitudePruneSvd;

    /// <summary>
    /// The method applied to the factors (or, for the <c>*_svd</c> types, to each ΔWᵢ) before any SVD: <c>ties_svd</c> →
    /// <c>ties</c>, …; <c>svd</c> → <c>linear</c> (the plain weighted sum); others unchanged.
    /// </summary>
    public static CombinationMethod BeforeSvd(CombinationMethod method) => method switch
    {
        CombinationMethod.Svd => CombinationMethod.Linear,
        CombinationMethod.TiesSvd => CombinationMethod.Ties,
        CombinationMethod.DareLinearSvd => CombinationMethod.DareLinear,
        CombinationMethod.DareTiesSvd => CombinationMethod.DareTies,
        CombinationMethod.MagnitudePruneSvd => CombinationMethod.MagnitudePrune,
        _ => method,
    };
}
