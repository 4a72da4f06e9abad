namespace LoraGen.Combine;

/// <summary>
/// PEFT's task-arithmetic merges (<c>peft.utils.merge_utils</c>) on same-shaped float tensors tᵢ with weights wᵢ:
/// magnitude trimming (keep the ⌊density·n⌋ largest |x|), random dropping with rescale by 1/density (DARE), sign
/// election (per element, the sign of Σ tᵢ — "total" — or of Σ sign(tᵢ) — "frequency"; ties go to +) and the
/// disjoint merge (the mean of the weighted values that agree with the elected sign).
/// </summary>
internal static class TaskArithmetic
{
    /// <summary>Σ wᵢ·tᵢ (PEFT's <c>task_arithmetic</c>).</summary>
    public static float[] WeightedSum(IReadOnlyList<float[]> t, IReadOnlyList<double> w)
    {
        var result = new float[t[0].Length];
        for (int i = 0; i < t.Count; i++)
        {
            float c = (float)w[i];
            var x = t[i];
            for (int j = 0; j < result.Length; j++) result[j] += c * x[j];
        }
        return result;
    }

    /// <summary>Keeps the ⌊density·n⌋ entries of largest magnitude (ties broken by position), zeroes the rest.</summary>
    public static float[] MagnitudePrune(float[] x, double density)
    {
        if (density >= 1) return (float[])x.Clone();
        int k = (int)(density * x.Length);
        var order = Enumerable.Range(0, x.Length).OrderByDescending(i => Math.Abs(x[i])).ThenBy(i => i).Take(k);
        var result = new float[x.Length];
        foreach (int i in order) result[i] = x[i];
        return result;
    }

    /// <summary>DARE: keeps each entry with probability density (Bernoulli) and divides the kept ones by density.</summary>
    public static float[] RandomPrune(float[] x, double density, ref ulong state)
    {
        if (density >= 1) return (float[])x.Clone();
        var result = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
            if (NextDouble(ref state) < density) result[i] = (float)(x[i] / density);
        return result;
    }

    /// <summary>
    /// Sign election and disjoint merge: for each element, the elected sign is that of Σ tᵢ (total) or Σ sign(tᵢ)
    /// (frequency), + on a tie; the result is Σ wᵢ·tᵢ over the i whose sign equals it, divided by their count (at least 1).
    /// </summary>
    public static float[] ElectAndMerge(IReadOnlyList<float[]> t, IReadOnlyList<double> w, MajoritySignMethod method)
    {
        int n = t[0].Length;
        var result = new float[n];
        for (int j = 0; j < n; j++)
        {
            float votes = 0;
            for (int i = 0; i < t.Count; i++) votes += method == MajoritySignMethod.Total ? t[i][j] : MathF.Sign(t[i][j]);
            int elected = votes >= 0 ? 1 : -1;
            float sum = 0;
            int kept = 0;
            for (int i = 0; i < t.Count; i++)
                if (MathF.Sign(t[i][j]) == elected) { sum += t[i][j] * (float)w[i]; kept++; }
            result[j] = sum / Math.Max(kept, 1);
        }
        return result;
    }

    /// <summary>One of PEFT's merges of <paramref name="t"/> with <paramref name="w"/> (Linear is the plain weighted sum).</summary>
    public static float[] Merge(CombinationMethod method, IReadOnlyList<float[]> t, IReadOnlyList<double> w, TaskArithmeticOptions options, ref ulong state)
    {
        switch (method)
        {
            case CombinationMethod.Ties:
                return ElectAndMerge(t.Select(x => MagnitudePrune(x, options.Density)).ToList(), w, options.MajoritySign);
            case CombinationMethod.MagnitudePrune:
                return WeightedSum(t.Select(x => MagnitudePrune(x, options.Density)).ToList(), w);
            case CombinationMethod.DareLinear:
            case CombinationMethod.DareTies:
                var dropped = new List<float[]>(t.Count);
                foreach (var x in t) dropped.Add(RandomPrune(x, options.Density, ref state));
                return method == CombinationMethod.DareLinear ? WeightedSum(dropped, w) : ElectAndMerge(dropped, w, options.MajoritySign);
            default:
                return WeightedSum(t, w);
        }
    }

    /// <summary>SplitMix64 → a double in [0, 1): the same drops for the same seed on every platform.</summary>
    private static double NextDouble(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
