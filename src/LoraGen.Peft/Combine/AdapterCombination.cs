using LoraGen.Peft;

namespace LoraGen.Combine;

/// <summary>
/// PEFT's <c>add_weighted_adapter</c>, backend-neutral: one layer's factors (<see cref="Combine"/>) and the new
/// adapter's config (<see cref="CombineConfigs"/>). Both backends and the <c>loragen combine</c> verb call this one
/// implementation.
/// </summary>
/// <remarks>
/// As in PEFT, an adapter that lacks a layer is left out of that layer's sum (its slot in <c>cat</c> stays zero),
/// the new config is the first adapter's with <c>r</c> and <c>lora_alpha</c> both set to the new rank (scaling 1)
/// and the target modules united, and adapters with <c>modules_to_save</c> are refused.
/// </remarks>
public static class AdapterCombination
{
    /// <summary>
    /// The rank of the combined adapter: r for <see cref="CombinationMethod.Linear"/> (all ranks equal), Σ r for
    /// <see cref="CombinationMethod.Cat"/>, max r for <see cref="CombinationMethod.Svd"/> and the other <c>*_svd</c> types
    /// (PEFT's default <c>svd_rank</c>; <see cref="Combine"/> takes any other rank too).
    /// </summary>
    public static int CombinedRank(CombinationMethod method, IReadOnlyList<int> ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        if (ranks.Count == 0) throw new ArgumentException("At least one adapter is needed.", nameof(ranks));
        return method switch
        {
            CombinationMethod.Linear or CombinationMethod.Ties or CombinationMethod.DareLinear or CombinationMethod.DareTies or CombinationMethod.MagnitudePrune
                => ranks.Distinct().Count() == 1
                ? ranks[0]
                : throw new ArgumentException($"{CombinationMethods.PeftName(method)} needs every adapter to have the same r; got {string.Join(", ", ranks)} (use cat or svd).", nameof(ranks)),
            CombinationMethod.Cat => ranks.Sum(),
            CombinationMethod.Svd or CombinationMethod.TiesSvd or CombinationMethod.DareLinearSvd or CombinationMethod.DareTiesSvd
                or CombinationMethod.MagnitudePruneSvd => ranks.Max(),   // PEFT's svd_rank default: the largest rank among the adapters
            _ => throw NotYet(method),
        };
    }

    /// <summary>
    /// Combines one layer: <paramref name="layers"/>[i] is adapter i's factors at this layer or null where adapter i
    /// lacks it; <paramref name="weights"/>[i] its weight. Returns factors of rank <paramref name="combinedRank"/>
    /// (from <see cref="CombinedRank"/>) with scaling 1.
    /// </summary>
    /// <remarks>
    /// The trimming/dropping methods (<see cref="CombinationMethod.Ties"/>, <see cref="CombinationMethod.DareLinear"/>,
    /// <see cref="CombinationMethod.DareTies"/>, <see cref="CombinationMethod.MagnitudePrune"/>) need
    /// <paramref name="options"/>; give each layer its own <see cref="TaskArithmeticOptions.Seed"/> (e.g. the seed plus
    /// the layer's index) so DARE's drops differ between layers. So do their <c>*_svd</c> forms, which run the same method on
    /// each adapter's dense ΔWᵢ = sᵢ·Bᵢ·Aᵢ (weights wᵢ) and then keep the top-<paramref name="combinedRank"/> SVD of the
    /// result. <paramref name="svdClamp"/> is PEFT's <c>svd_clamp</c> for the SVD types: with q given, every entry of the new
    /// B and A is clamped to ±(the q-quantile of all their entries, as <c>torch.quantile</c> interpolates it).
    /// </remarks>
    public static LoraFactors Combine(CombinationMethod method, IReadOnlyList<LoraFactors?> layers, IReadOnlyList<double> weights, int combinedRank,
        TaskArithmeticOptions? options = null, double? svdClamp = null)
    {
        if (svdClamp is { } q && !(q >= 0 && q <= 1))
            throw new ArgumentException($"svd clamp must be a quantile in [0, 1], got {q}.", nameof(svdClamp));
        if (svdClamp is not null && !CombinationMethods.IsSvd(method))
            throw new ArgumentException($"svd clamp applies to the svd combination types only, not {CombinationMethods.PeftName(method)}.", nameof(svdClamp));
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(weights);
        if (layers.Count != weights.Count)
            throw new ArgumentException($"{layers.Count} adapters but {weights.Count} weights.", nameof(weights));
        var present = Enumerable.Range(0, layers.Count).Where(i => layers[i] is not null).ToList();
        if (present.Count == 0) throw new ArgumentException("No adapter has this layer.", nameof(layers));
        var first = layers[present[0]]!;
        int inF = first.InFeatures, outF = first.OutFeatures;
        foreach (int i in present)
        {
            var l = layers[i]!;
            if (l.InFeatures != inF || l.OutFeatures != outF)
                throw new ArgumentException($"adapter {i} has A [{l.Rank}, {l.InFeatures}] and B [{l.OutFeatures}, {l.Rank}]; adapter {present[0]} has [{first.Rank}, {inF}] and [{outF}, {first.Rank}].", nameof(layers));
        }
        var a = new float[(long)combinedRank * inF];
        var b = new float[(long)outF * combinedRank];
        switch (method)
        {
            case CombinationMethod.Linear:
                foreach (int i in present)
                {
                    var l = layers[i]!;
                    if (l.Rank != combinedRank)
                        throw new ArgumentException($"linear needs rank {combinedRank} at every layer; adapter {i} has {l.Rank} (use cat).", nameof(layers));
                    double ws = weights[i] * l.Scaling;
                    if (ws < 0 || double.IsNaN(ws))
                        throw new ArgumentException($"linear takes √(weight·scaling) and adapter {i} has weight·scaling = {ws}; use cat for negative weights.", nameof(weights));
                    float c = (float)Math.Sqrt(ws);
                    Axpy(c, l.A, a);
                    Axpy(c, l.B, b);
                }
                break;
            case CombinationMethod.Cat:
                int offset = 0;
                foreach (int i in present)
                {
                    var l = layers[i]!;
                    if (offset + l.Rank > combinedRank)
                        throw new ArgumentException($"cat: the ranks exceed the combined rank {combinedRank}.", nameof(combinedRank));
                    Array.Copy(l.A, 0, a, (long)offset * inF, (long)l.Rank * inF);
                    float c = (float)(weights[i] * l.Scaling);
                    for (int o = 0; o < outF; o++)
                        for (int k = 0; k < l.Rank; k++)
                            b[(long)o * combinedRank + offset + k] = c * l.B[(long)o * l.Rank + k];
                    offset += l.Rank;
                }
                break;
            case CombinationMethod.Svd:
                return Clamped(Svd(layers, weights, present, combinedRank, inF, outF), svdClamp);
            case CombinationMethod.TiesSvd or CombinationMethod.DareLinearSvd or CombinationMethod.DareTiesSvd or CombinationMethod.MagnitudePruneSvd:
                return Clamped(DenseSvd(method, layers, weights, present, combinedRank, inF, outF,
                    options ?? throw new ArgumentException($"{CombinationMethods.PeftName(method)} needs a density ({nameof(TaskArithmeticOptions)}).", nameof(options))), svdClamp);
            case CombinationMethod.Ties or CombinationMethod.DareLinear or CombinationMethod.DareTies or CombinationMethod.MagnitudePrune:
                return Trimmed(method, layers, weights, present, combinedRank, inF, outF,
                    options ?? throw new ArgumentException($"{CombinationMethods.PeftName(method)} needs a density ({nameof(TaskArithmeticOptions)}).", nameof(options)));
            default:
                throw NotYet(method);
        }
        return new LoraFactors(a, b, combinedRank, inF, outF, 1.0);
    }

    /// <summary>
    /// The combined adapter's config: the first config with <c>r</c> = <c>lora_alpha</c> = <paramref name="combinedRank"/>
    /// and the target modules united (lists: the union, sorted; regexes: <c>(a)|(b)</c>). Throws
    /// <see cref="ArgumentException"/> where PEFT refuses: modules to save, mixed list/regex targets, and (not yet
    /// supported here) per-module rank or alpha patterns.
    /// </summary>
    public static AdapterConfig CombineConfigs(IReadOnlyList<AdapterConfig> configs, int combinedRank)
    {
        ArgumentNullException.ThrowIfNull(configs);
        if (configs.Count == 0) throw new ArgumentException("At least one adapter is needed.", nameof(configs));
        for (int i = 0; i < configs.Count; i++)
        {
            if (configs[i].ModulesToSave is { Count: > 0 })
                throw new ArgumentException($"adapter {i} has modules to save; PEFT cannot combine those.", nameof(configs));
            if (configs[i].RankPattern.Count > 0 || configs[i].AlphaPattern.Count > 0)
                throw new ArgumentException($"adapter {i} has a rank or alpha pattern; combining those is not supported yet.", nameof(configs));
        }
        var targets = configs.Select(c => c.TargetModules).ToList();
        OneOrMany<string>? united;
        if (targets.All(t => t is null)) united = null;
        else if (targets.All(t => t is { IsSingle: false }))
            united = OneOrMany<string>.Many(targets.SelectMany(t => t!.Items).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
        else if (targets.All(t => t is { IsSingle: true }))
            united = targets.Count == 1 ? targets[0] : OneOrMany<string>.One(string.Join("|", targets.Select(t => "(" + t!.Single + ")")));
        else
            throw new ArgumentException("the adapters' target modules mix lists and regular expressions; PEFT needs one kind.", nameof(configs));
        return configs[0] with { R = combinedRank, LoraAlpha = combinedRank, TargetModules = united };
    }

    /// <summary>
    /// PEFT's <c>svd</c>: ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ, then its best rank-k approximation U_k·diag(σ_k)·V_kᵀ with lora_B = U_k·diag(σ_k)
    /// and lora_A = V_kᵀ (PEFT's default: no clamping). ΔW is never formed: the SVD works on the stacked factors.
    /// </summary>
    private static LoraFactors Svd(IReadOnlyList<LoraFactors?> layers, IReadOnlyList<double> weights, List<int> present, int k, int inF, int outF)
    {
        int total = present.Sum(i => layers[i]!.Rank);
        var b = new double[(long)outF * total];   // [out, Σ r]: wᵢ·sᵢ·Bᵢ side by side
        var a = new double[(long)total * inF];    // [Σ r, in]: Aᵢ stacked
        int offset = 0;
        foreach (int i in present)
        {
            var l = layers[i]!;
            double c = weights[i] * l.Scaling;
            for (int o = 0; o < outF; o++)
                for (int t = 0; t < l.Rank; t++) b[(long)o * total + offset + t] = c * l.B[(long)o * l.Rank + t];
            for (long x = 0; x < (long)l.Rank * inF; x++) a[(long)offset * inF + x] = l.A[x];
            offset += l.Rank;
        }
        var (newB, newA, _) = LowRankSvd.Truncate(b, a, outF, total, inF, k);
        return new LoraFactors(newA, newB, k, inF, outF, 1.0);
    }

    /// <summary>
    /// PEFT's <c>ties_svd</c>, <c>dare_linear_svd</c>, <c>dare_ties_svd</c> and <c>magnitude_prune_svd</c>: the named merge of
    /// the dense ΔWᵢ = sᵢ·Bᵢ·Aᵢ [out, in] with weights wᵢ (trimming, dropping and sign election see whole ΔWᵢ, not factors),
    /// then the top-k SVD of the merged ΔW: B = U_k·diag(σ_k), A = V_kᵀ, scaling 1 (exact for small layers, randomized for
    /// large ones: <see cref="DenseTopK"/>). Memory O(adapters·out·in).
    /// </summary>
    /// <remarks>
    /// Scaling enters once, as in <see cref="Svd"/>: PEFT's code takes ΔWᵢ with its scaling and also multiplies the weight
    /// by it, so for sᵢ ≠ 1 PEFT's result equals LoraGen's with weights wᵢ·sᵢ.
    /// </remarks>
    private static LoraFactors DenseSvd(CombinationMethod method, IReadOnlyList<LoraFactors?> layers, IReadOnlyList<double> weights, List<int> present,
        int k, int inF, int outF, TaskArithmeticOptions options)
    {
        options.Validate();
        var deltas = present.Select(i => layers[i]!.Delta()).ToList();   // each [out, in]
        var w = present.Select(i => weights[i]).ToList();
        ulong state = options.Seed;
        var merged = TaskArithmetic.Merge(CombinationMethods.BeforeSvd(method), deltas, w, options, ref state);
        var dense = new double[merged.Length];
        for (int i = 0; i < merged.Length; i++) dense[i] = merged[i];
        return DenseTopK(dense, outF, inF, k, options.Seed);
    }

    /// <summary>Layers with min(out, in) up to this get the exact SVD; larger ones the randomized one (see <see cref="DenseTopK"/>).</summary>
    internal const int ExactSvdLimit = 256;

    /// <summary>
    /// The top-k SVD of a dense ΔW [outF, inF] as scaling-1 factors. Exact (one-sided Jacobi on a min(out, in)² core)
    /// up to <see cref="ExactSvdLimit"/>; above it, where that core would take minutes, Halko's randomized SVD with
    /// <see cref="Oversampling"/> extra directions and <see cref="PowerIterations"/> power iterations, then the top k of
    /// those. PEFT calls the exact <c>torch.linalg.svd</c>; the two agree to the accuracy the tests state.
    /// </summary>
    private static LoraFactors DenseTopK(double[] dense, int outF, int inF, int k, ulong seed)
    {
        int p = Math.Min(outF, inF);
        if (p <= ExactSvdLimit || k >= p)
        {
            var (b, a, _) = LowRankSvd.TopK(dense, outF, inF, k);
            return new LoraFactors(a, b, k, inF, outF, 1.0);
        }
        int wide = Math.Min(k + Oversampling, p);
        var (newB, newA, _) = LowRankSvd.RandomizedTopK(dense, outF, inF, wide, PowerIterations, seed);   // B [out, wide], A [wide, in], σ descending
        var bk = new float[(long)outF * k];
        for (int o = 0; o < outF; o++) Array.Copy(newB, (long)o * wide, bk, (long)o * k, k);
        var ak = newA.AsSpan(0, k * inF).ToArray();
        return new LoraFactors(ak, bk, k, inF, outF, 1.0);
    }

    /// <summary>Extra random directions of the randomized SVD (Halko et al. suggest 5–10).</summary>
    internal const int Oversampling = 10;

    /// <summary>Power iterations of the randomized SVD: each sharpens a slowly decaying spectrum (trimmed ΔW's is).</summary>
    internal const int PowerIterations = 6;

    /// <summary>
    /// PEFT's <c>svd_clamp</c>: hi = the <paramref name="quantile"/>-quantile of B's and A's entries together (linear
    /// interpolation between the sorted values, as <c>torch.quantile</c>), then every entry clamped to [−hi, hi].
    /// </summary>
    private static LoraFactors Clamped(LoraFactors f, double? quantile)
    {
        if (quantile is not { } q) return f;
        var all = new float[f.B.Length + f.A.Length];
        f.B.CopyTo(all, 0);
        f.A.CopyTo(all, f.B.Length);
        Array.Sort(all);
        double pos = q * (all.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, all.Length - 1);
        float top = (float)(all[lo] + (all[hi] - all[lo]) * (pos - lo));
        float bottom = -top;
        float Clamp(float v) => v > top ? top : v < bottom ? bottom : v;
        return new LoraFactors(f.A.Select(Clamp).ToArray(), f.B.Select(Clamp).ToArray(), f.Rank, f.InFeatures, f.OutFeatures, f.Scaling);
    }

    /// <summary>
    /// PEFT's <c>_generalized_task_arithmetic_weighted_adapter</c>: the merge runs on the A factors and on the B factors
    /// separately, each adapter weighted by √(wᵢ·sᵢ), so B·A approximates Σ wᵢ·sᵢ·Bᵢ·Aᵢ.
    /// </summary>
    private static LoraFactors Trimmed(CombinationMethod method, IReadOnlyList<LoraFactors?> layers, IReadOnlyList<double> weights, List<int> present,
        int r, int inF, int outF, TaskArithmeticOptions options)
    {
        options.Validate();
        var w = new List<double>();
        foreach (int i in present)
        {
            var l = layers[i]!;
            if (l.Rank != r)
                throw new ArgumentException($"{CombinationMethods.PeftName(method)} needs rank {r} at every layer; adapter {i} has {l.Rank} (use cat or svd).", nameof(layers));
            double ws = weights[i] * l.Scaling;
            if (ws < 0 || double.IsNaN(ws))
                throw new ArgumentException($"{CombinationMethods.PeftName(method)} takes √(weight·scaling) and adapter {i} has weight·scaling = {ws}.", nameof(weights));
            w.Add(Math.Sqrt(ws));
        }
        ulong state = options.Seed;
        var a = TaskArithmetic.Merge(method, present.Select(i => layers[i]!.A).ToList(), w, options, ref state);
        var b = TaskArithmetic.Merge(method, present.Select(i => layers[i]!.B).ToList(), w, options, ref state);
        return new LoraFactors(a, b, r, inF, outF, 1.0);
    }

    private static void Axpy(float c, float[] x, float[] y)
    {
        for (long i = 0; i < x.LongLength; i++) y[i] += c * x[i];
    }

    private static NotSupportedException NotYet(CombinationMethod method) =>
        new($"combination method '{method}' is not one of {string.Join(", ", Contract.CombinationTypes.All)}.");
}
