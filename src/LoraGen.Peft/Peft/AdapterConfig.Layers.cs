namespace LoraGen.Peft;

public sealed partial record AdapterConfig
{
    /// <summary>
    /// The PEFT config that reproduces every layer's settings: the most common rank and α as <c>r</c> and
    /// <c>lora_alpha</c>, the others as <c>rank_pattern</c>/<c>alpha_pattern</c> by full path. PEFT has one
    /// <c>use_rslora</c> flag: the majority wins, and the other layers' scaling is kept exact through an equivalent α
    /// (α/√r = (α·√r)/r). Dropout and init come from the first layer. Both backends build their configs here, so the
    /// same layers give the same <c>adapter_config.json</c> bytes.
    /// </summary>
    /// <param name="layers">The adapted layers, at least one.</param>
    /// <param name="bias">The config's <c>bias</c>.</param>
    /// <param name="baseModel">The config's <c>base_model_name_or_path</c>, or null.</param>
    public static AdapterConfig FromLayers(IReadOnlyList<AdapterLayerSettings> layers, LoraBias bias, string? baseModel)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) throw new ArgumentException("an adapter config needs at least one layer.", nameof(layers));
        var first = layers[0];
        if (layers.FirstOrDefault(l => l.UseDora != first.UseDora) is { } odd)
            throw new ArgumentException($"PEFT has one {Contract.ConfigFields.UseDora} flag per adapter, but {first.Path} is {(first.UseDora ? "DoRA" : "plain LoRA")} and {odd.Path} is not.", nameof(layers));
        bool rsLora = layers.Count(l => l.UseRsLora) * 2 > layers.Count;
        double EffectiveAlpha(AdapterLayerSettings c) => c.UseRsLora == rsLora ? c.Alpha
            : c.UseRsLora ? c.Alpha * Math.Sqrt(c.Rank) : c.Alpha / Math.Sqrt(c.Rank);
        int r = layers.GroupBy(l => l.Rank).OrderByDescending(g => g.Count()).First().Key;
        double alpha = layers.GroupBy(EffectiveAlpha).OrderByDescending(g => g.Count()).First().Key;
        return new AdapterConfig
        {
            R = r,
            LoraAlpha = alpha,
            LoraDropout = first.Dropout,
            TargetModules = OneOrMany<string>.Many(layers.Select(l => ModulePath.LastSegment(l.Path)).Distinct().Order(StringComparer.Ordinal)),
            Bias = bias,
            UseRsLora = rsLora,
            UseDora = first.UseDora,
            InitLoraWeights = first.Init == LoraInit.Gaussian ? InitLoraWeights.Gaussian : InitLoraWeights.Default,
            RankPattern = layers.Where(l => l.Rank != r)
                .OrderBy(l => l.Path, StringComparer.Ordinal).ToDictionary(l => l.Path, l => l.Rank),
            AlphaPattern = layers.Where(l => EffectiveAlpha(l) != alpha)
                .OrderBy(l => l.Path, StringComparer.Ordinal).ToDictionary(l => l.Path, EffectiveAlpha),
            BaseModelNameOrPath = baseModel,
            InferenceMode = true,
        };
    }
}
