namespace LoraGen.Peft;

public sealed partial record AdapterConfig
{
    /// <summary>
    /// This config (built by <see cref="FromLayers"/>: the adapted layers' names as <c>target_modules</c>) with a layer
    /// selection that gives exactly <paramref name="adapted"/> among <paramref name="layers"/> (a model's adaptable
    /// layers in module order) by <see cref="SelectLayers"/>: <paramref name="selection"/>'s own fields when they do
    /// (so a file's <c>layers_to_transform</c>, <c>exclude_modules</c>, regular expression or <c>"all-linear"</c> is
    /// written back as it was), else the names plus <c>exclude_modules</c> listing, by full path, each layer the names
    /// reach that holds no adapter. A save that goes through here reloads into the same layers, here and in PEFT.
    /// </summary>
    /// <param name="adapted">The adapted layers, by (first) path.</param>
    /// <param name="layers">The model's adaptable layers in module order, each once, under its first path.</param>
    /// <param name="selection">The selection the adapter was created or loaded with, or null.</param>
    /// <param name="aliases">
    /// A layer shared under several paths (tied weights): its first path → its other paths. Such a layer is selected
    /// when any of its paths is, and is named in <paramref name="adapted"/> by its first path; <c>exclude_modules</c>
    /// lists it under all of its paths (its first path first), so a reload cannot reach it through another one.
    /// </param>
    public AdapterConfig SelectingExactly(IReadOnlyCollection<string> adapted, IReadOnlyList<(string Path, LayerKind Kind)> layers, AdapterConfig? selection,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? aliases = null)
    {
        ArgumentNullException.ThrowIfNull(adapted);
        ArgumentNullException.ThrowIfNull(layers);
        var want = adapted.ToHashSet(StringComparer.Ordinal);
        bool Exact(AdapterConfig c) => c.SelectLayers(layers, aliases).ToHashSet(StringComparer.Ordinal).SetEquals(want);
        if (selection is not null)
        {
            var kept = this with
            {
                TargetModules = selection.TargetModules,
                ExcludeModules = selection.ExcludeModules,
                LayersToTransform = selection.LayersToTransform,
                LayersPattern = selection.LayersPattern,
            };
            if (selection.TargetModules is not null && Exact(kept)) return kept;
            var named = kept with { TargetModules = TargetModules };
            if (Exact(named)) return named;
        }
        if (Exact(this)) return this;
        // A shared layer is excluded under every one of its paths: SelectLayers reaches it through any of them, so
        // naming only the first would let a reload find it again through an alias. PEFT lists a shared module once,
        // by its first path (named_modules() drops duplicates), so the alias entries match nothing there.
        var extra = SelectLayers(layers, aliases).Where(p => !want.Contains(p))
            .SelectMany(p => aliases is not null && aliases.TryGetValue(p, out var more) ? [p, .. more] : new[] { p })
            .ToList();
        return this with { ExcludeModules = OneOrMany<string>.Many(extra) };
    }
}
