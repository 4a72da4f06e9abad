using LoraGen.Contract;
using LoraGen.Combine;
using LoraGen.Tensors;

namespace LoraGen.Lora;

public sealed partial class LoraModelController
{
    /// <summary>
    /// PEFT's <c>add_weighted_adapter</c>: a new adapter <paramref name="name"/> made from <paramref name="adapters"/>
    /// with <paramref name="weights"/>, by <paramref name="combinationType"/> — <c>svd</c> (PEFT's default; rank
    /// <paramref name="svdRank"/> or the largest), <c>linear</c>, <c>cat</c>, <c>ties</c>, <c>dare_linear</c>,
    /// <c>dare_ties</c> or <c>magnitude_prune</c> (these four need <paramref name="density"/>; DARE's drops follow
    /// <paramref name="seed"/>). The one implementation is the PEFT unit's <see cref="AdapterCombination"/> (the CLI's
    /// <c>combine</c> uses it too). The new adapter has scaling 1 (α = r), trains, and is not made active. DoRA adapters
    /// are refused (their magnitudes do not combine). <paramref name="svdClamp"/> is PEFT's <c>svd_clamp</c> for the SVD
    /// types: a quantile q in [0, 1] at which every entry of the new A and B is clamped (none when null). A bad name,
    /// type or setting throws before anything changes.
    /// </summary>
    public void AddWeightedAdapter(IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string name, string combinationType = CombinationTypes.Svd,
        int? svdRank = null, double? density = null, string majoritySignMethod = "total", ulong seed = 0, double? svdClamp = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        var (method, options) = CombinationMethods.ParseArguments(adapters.Count, weights.Count, combinationType, density, majoritySignMethod, seed);
        lock (_gate)
        {
            CheckName(name);
            if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' already exists.");
            foreach (var a in adapters)
                if (!_names.Contains(a)) throw new KeyNotFoundException($"No adapter named '{a}' (have: {string.Join(", ", _names)}).");
            var slots = Slots().Where(s => adapters.Any(s.Adapters.ContainsKey)).ToList();
            if (slots.SelectMany(s => adapters.Where(s.Adapters.ContainsKey).Select(a => s.Adapters[a])).FirstOrDefault(ad => ad.Magnitude is not null) is { } dora)
                throw new ArgumentException($"Adapter '{dora.Name}' is a DoRA adapter; its magnitudes cannot be combined (combine plain LoRA adapters).", nameof(adapters));
            var ranks = adapters.Select(a => slots.Where(s => s.Adapters.ContainsKey(a)).Max(s => s.Adapters[a].Config.Rank)).ToList();
            int rank = CombinationMethods.IsSvd(method) && svdRank is { } k ? k : AdapterCombination.CombinedRank(method, ranks);
            if (rank < 1) throw new ArgumentException($"svd rank must be at least 1, got {rank}.", nameof(svdRank));

            // Compute every layer first, then add: a failure leaves the model as it was.
            var made = new List<(LoraLayer Slot, LoraConfig Config, LoraFactors Factors)>();
            for (int index = 0; index < slots.Count; index++)
            {
                var slot = slots[index];
                var factors = adapters.Select(a => slot.Adapters.TryGetValue(a, out var ad)
                    ? new LoraFactors(ad.A.ToArray(), ad.B.ToArray(), ad.Config.Rank, ad.A.Dim(1), ad.B.Dim(0), ad.Scaling)
                    : null).ToList();
                var layerOptions = options is null ? null : options with { Seed = seed + (ulong)index };
                LoraFactors combined;
                try { combined = AdapterCombination.Combine(method, factors, weights, rank, layerOptions, svdClamp); }
                catch (ArgumentException e) { throw new ArgumentException($"{slot.LayerName}: {e.Message}", e); }
                var first = adapters.Select(a => slot.Adapters.GetValueOrDefault(a)).First(ad => ad is not null)!;
                made.Add((slot, new LoraConfig(rank, rank, first.Config.Dropout), combined));
            }
            foreach (var (slot, config, f) in made)
                slot.Add(name, config, Tensor.FromArray(f.A, f.Rank, f.InFeatures), Tensor.FromArray(f.B, f.OutFeatures, f.Rank));
            _names.Add(name);
            _trainable[name] = true;
            _active ??= name;
        }
    }
}
