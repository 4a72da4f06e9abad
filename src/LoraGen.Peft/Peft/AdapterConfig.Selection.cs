using System.Globalization;
using LoraGen.Contract;

namespace LoraGen.Peft;

// Which layers of a model an adapter adapts: target_modules (names, a regular expression or "all-linear") minus
// exclude_modules and modules_to_save, narrowed by layers_to_transform/layers_pattern. Both backends and the
// run-time loaders ask here, so a file, an override and a save agree on one set.
public sealed partial record AdapterConfig
{
    /// <summary>Whether <see cref="TargetModules"/> is PEFT's <c>"all-linear"</c> shorthand.</summary>
    public bool IsAllLinear => TargetModules is { IsSingle: true } t && string.Equals(t.Single, ConfigFields.AllLinear, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether <see cref="ExcludeModules"/> excludes the layer at <paramref name="path"/>: a string is a regular
    /// expression the whole path must match, a list holds names (equal to the path or a dotted suffix of it).
    /// </summary>
    public bool IsExcluded(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (ExcludeModules is not { } exclude) return false;
        return exclude.IsSingle ? PeftRegex.FullMatch(exclude.Single, path) : exclude.Items.Any(n => TargetMatching.Matches(path, n));
    }

    /// <summary>Whether <see cref="ModulesToSave"/> names the module at <paramref name="path"/> or one of its parents (PEFT's rule).</summary>
    public bool IsModuleToSave(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ModulesToSave is { Count: > 0 } saved && saved.Any(m => PeftRegex.MatchesModuleToSave(m, path));
    }

    /// <summary>
    /// Whether <see cref="LayersToTransform"/> keeps the layer at <paramref name="path"/> (always true without it).
    /// As PEFT's <c>check_target_module_exists</c>: the layer index is the number right after
    /// <c>.PATTERN.</c> (<see cref="LayersPattern"/>; any segment when there is none) — so, exactly as in PEFT, the
    /// pattern must be preceded by a dot (<c>transformer.h.0.attn</c> matches <c>"h"</c>; a list <c>h</c> at the root
    /// of the model does not, and neither does a path with no index).
    /// </summary>
    public bool IsInSelectedLayers(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (LayersToTransform is not { } layers || (!layers.IsSingle && layers.Items.Count == 0)) return true;
        System.Text.RegularExpressions.Match? m = null;
        if (LayersPattern is not { } patterns || (patterns.IsSingle ? patterns.Single.Length == 0 : patterns.Items.Count == 0))
            m = PeftRegex.MatchStart(@".*?\.[^.]*\.(\d+)\.", path);
        else
            foreach (var p in patterns.Items)
                if ((m = PeftRegex.MatchStart(@".*?\." + PeftRegex.Translate(p) + @"\.(\d+)\.", path)) is not null) break;
        return m is not null
            && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && layers.Items.Contains(index);
    }

    /// <summary>
    /// The output head that <c>"all-linear"</c> leaves out, among <paramref name="layers"/> (a model's adaptable layers
    /// in module order): the last layer when it is a <see cref="LayerKind.Linear"/> sitting directly on the model root
    /// (<c>lm_head</c>, <c>classifier</c>, <c>score</c>: what PEFT finds through <c>get_output_embeddings()</c>);
    /// null when the model ends otherwise.
    /// </summary>
    public static string? OutputLayer(IReadOnlyList<(string Path, LayerKind Kind)> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0) return null;
        var (path, kind) = layers[^1];
        return kind == LayerKind.Linear && path.Length > 0 && !path.Contains('.', StringComparison.Ordinal) ? path : null;
    }

    /// <summary>
    /// The paths of <paramref name="layers"/> (a model's adaptable layers in module order) this config adapts: each
    /// one <see cref="IsTargeted"/> accepts, less the output head (<see cref="OutputLayer"/>) when the targets are
    /// <c>"all-linear"</c>. The one place the adapted set is computed, for loading, attaching and saving alike.
    /// </summary>
    /// <param name="layers">The model's adaptable layers in module order, each once (under its first path).</param>
    /// <param name="aliases">
    /// For a model whose layers may be shared under several paths (tied weights): a first path → the layer's other
    /// paths. A shared layer is selected when any of its paths is, and named once, by its first path.
    /// </param>
    public IReadOnlyList<string> SelectLayers(IReadOnlyList<(string Path, LayerKind Kind)> layers, IReadOnlyDictionary<string, IReadOnlyList<string>>? aliases = null)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (aliases is null || aliases.Count == 0) return TargetedPaths(layers);
        var every = new List<(string Path, LayerKind Kind)>(layers.Count);
        var firstOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, kind) in layers)
        {
            every.Add((path, kind));
            firstOf[path] = path;
            if (aliases.TryGetValue(path, out var more))
                foreach (var p in more)
                {
                    every.Add((p, kind));
                    firstOf[p] = path;
                }
        }
        return TargetedPaths(every).Select(p => firstOf[p]).Distinct(StringComparer.Ordinal).ToList();
    }

    private List<string> TargetedPaths(IReadOnlyList<(string Path, LayerKind Kind)> layers)
    {
        string? head = IsAllLinear ? OutputLayer(layers) : null;
        return layers.Where(l => l.Path != head && IsTargeted(l.Path, l.Kind)).Select(l => l.Path).ToList();
    }
}
