using LoraGen.Combine;
using LoraGen.Contract;
using TorchSharp;

namespace LoraGen.Torch;

public sealed partial class TorchLoraModelController
{
    /// <summary>
    /// PEFT's <c>add_weighted_adapter</c>, as the managed backend's: a new adapter <paramref name="name"/> made from
    /// <paramref name="adapters"/> with <paramref name="weights"/>, by <paramref name="combinationType"/> — <c>svd</c>
    /// (PEFT's default; rank <paramref name="svdRank"/> or the largest), <c>linear</c>, <c>cat</c>, <c>ties</c>,
    /// <c>dare_linear</c>, <c>dare_ties</c> or <c>magnitude_prune</c> (these four need <paramref name="density"/>;
    /// DARE's drops follow <paramref name="seed"/>). The math is the PEFT unit's <see cref="AdapterCombination"/> (the
    /// managed backend and the CLI's <c>combine</c> use it too), on float32 copies of A and B. The new adapter has
    /// scaling 1 (α = r), trains, and is not made active. DoRA and PiSSA/OLoRA adapters are refused. A bad name, type
    /// or setting throws before anything changes.
    /// </summary>
    public void AddWeightedAdapter(IReadOnlyList<string> adapters, IReadOnlyList<double> weights, string name, string combinationType = CombinationTypes.Svd,
        int? svdRank = null, double? density = null, string majoritySignMethod = "total", ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var (method, options) = CombinationMethods.ParseArguments(adapters.Count, weights.Count, combinationType, density, majoritySignMethod, seed);
        if (_names.Contains(name)) throw new InvalidOperationException($"An adapter named '{name}' already exists.");
        foreach (var a in adapters)
        {
            if (!_names.Contains(a)) throw new KeyNotFoundException($"No adapter named '{a}' (have: {string.Join(", ", _names)}).");
            if (_basis.TryGetValue(a, out var basis))
                throw new ArgumentException($"Adapter '{a}' is a {basis.Settings.Variant} adapter; only LoRA adapters can be combined.", nameof(adapters));
        }
        var layers = TorchLoraModules.Layers(_model).Select(l => l.Layer).Where(l => adapters.Any(l.Adapters.ContainsKey)).ToList();
        foreach (var ad in layers.SelectMany(l => adapters.Where(l.Adapters.ContainsKey).Select(a => l.Adapters[a])))
        {
            if (ad.Magnitude is not null)
                throw new ArgumentException($"Adapter '{ad.Name}' is a DoRA adapter; its magnitudes cannot be combined (combine plain LoRA adapters).", nameof(adapters));
            if (ad.Initial is not null)
                throw new ArgumentException($"Adapter '{ad.Name}' is a {ad.Config.Init} adapter relative to residual weights; save and load it (as plain LoRA) before combining.", nameof(adapters));
        }
        var ranks = adapters.Select(a => layers.Where(l => l.Adapters.ContainsKey(a)).Max(l => l.Adapters[a].Config.Rank)).ToList();
        int rank = method == CombinationMethod.Svd && svdRank is { } k ? k : AdapterCombination.CombinedRank(method, ranks);
        if (rank < 1) throw new ArgumentException($"svd rank must be at least 1, got {rank}.", nameof(svdRank));

        // Compute every layer first, then add: a failure leaves the model as it was.
        var made = new List<(TorchLoraLayer Layer, TorchLoraConfig Config, LoraFactors Factors)>();
        for (int index = 0; index < layers.Count; index++)
        {
            var layer = layers[index];
            var factors = adapters.Select(a => layer.Adapters.TryGetValue(a, out var ad)
                ? new LoraFactors(Floats(ad.MatrixA), Floats(ad.MatrixB), ad.Config.Rank, (int)layer.InFeatures, (int)layer.OutFeatures, (float)ad.Scaling)
                : null).ToList();
            var layerOptions = options is null ? null : options with { Seed = seed + (ulong)index };
            LoraFactors combined;
            try { combined = AdapterCombination.Combine(method, factors, weights, rank, layerOptions); }
            catch (ArgumentException e) { throw new ArgumentException($"{layer.Name}: {e.Message}", e); }
            var first = adapters.Select(a => layer.Adapters.GetValueOrDefault(a)).First(ad => ad is not null)!;
            made.Add((layer, new TorchLoraConfig(rank, rank, first.Config.Dropout), combined));
        }
        foreach (var (layer, config, f) in made)
        {
            using var a = torch.tensor(f.A, [f.Rank, f.InFeatures]);
            using var b = torch.tensor(f.B, [f.OutFeatures, f.Rank]);
            layer.Add(name, config, a, b);
            layer.SetActive([.. layer.ActiveAdapters.Where(n => n != name)]);   // added, not made active
        }
        Register(name);
    }
}
