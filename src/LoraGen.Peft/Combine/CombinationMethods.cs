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

    /// <summary>PEFT's <c>majority_sign_method</c>: <c>total</c> or <c>frequency</c>; <see cref="ArgumentException"/> otherwise.</summary>
    public static MajoritySignMethod ParseMajoritySign(string name) => name switch
    {
        "total" => MajoritySignMethod.Total,
        "frequency" => MajoritySignMethod.Frequency,
        _ => throw new ArgumentException($"majority sign method '{name}' is not 'total' or 'frequency'.", nameof(name)),
    };

    /// <summary>
    /// The arguments of <c>add_weighted_adapter</c> checked once for both backends: the method named
    /// <paramref name="combinationType"/>, one weight per adapter (at least one), and — for the types that trim or
    /// drop — the density, sign method and seed as validated <see cref="TaskArithmeticOptions"/> (null otherwise).
    /// Throws <see cref="ArgumentException"/> naming the bad argument.
    /// </summary>
    public static (CombinationMethod Method, TaskArithmeticOptions? Options) ParseArguments(int adapterCount, int weightCount,
        string combinationType, double? density, string majoritySignMethod, ulong seed)
    {
        var method = Parse(combinationType);
        var sign = ParseMajoritySign(majoritySignMethod);
        if (adapterCount == 0 || adapterCount != weightCount)
            throw new ArgumentException($"{adapterCount} adapters and {weightCount} weights: give one weight per adapter, at least one.", "weights");
        if (!NeedsDensity(method)) return (method, null);
        var options = new TaskArithmeticOptions(density ?? throw new ArgumentException($"{combinationType} needs a density.", nameof(density)), sign, seed);
        options.Validate();
        return (method, options);
    }

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
