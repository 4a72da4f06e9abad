using LoraGen.Nn;
using LoraGen.Peft;

namespace LoraGen.Lora;

/// <summary>
/// Finds the adaptable layers of a module tree, each with its path and the <c>[Lora]</c> settings its field declares,
/// and gives a layer's adapter slot the LoRA view (<c>layer.Lora</c>, <c>layer.EnableLora(path)</c>).
/// </summary>
public static class AdaptableLayers
{
    /// <summary>
    /// Every Linear/Embedding below <paramref name="root"/> (the root itself when it is one, at path ""), depth first in
    /// <see cref="Module.Children"/> order, with the <c>[Lora]</c> settings of its field (null when it has none). A
    /// layer reachable under several paths (a tied or shared module) appears once, under its first path, as PyTorch's
    /// <c>named_modules()</c> lists it, with the first <c>[Lora]</c> settings any of its fields declares; its other
    /// paths are in <see cref="Aliases"/>.
    /// </summary>
    public static IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> Find(Module root)
    {
        var all = FindEveryPath(root);
        var result = new List<(string, IAdaptableLayer, LoraFieldSpec?)>();
        var index = new Dictionary<IAdaptableLayer, int>(ReferenceEqualityComparer.Instance);
        foreach (var (path, layer, spec) in all)
        {
            if (!index.TryGetValue(layer, out var i)) { index[layer] = result.Count; result.Add((path, layer, spec)); }
            else if (result[i].Item3 is null && spec is not null) result[i] = (result[i].Item1, layer, spec);
        }
        return result;
    }

    /// <summary>
    /// The layers reachable under more than one path: each one's first path (as <see cref="Find"/> names it) → its
    /// other paths, in walk order. Empty when no layer is shared.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Aliases(Module root)
    {
        var first = new Dictionary<IAdaptableLayer, string>(ReferenceEqualityComparer.Instance);
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (path, layer, _) in FindEveryPath(root))
        {
            if (!first.TryAdd(layer, path))
                result[first[layer]] = [.. result.GetValueOrDefault(first[layer]) ?? [], path];
        }
        return result;
    }

    private static List<(string, IAdaptableLayer, LoraFieldSpec?)> FindEveryPath(Module root)
    {
        var result = new List<(string, IAdaptableLayer, LoraFieldSpec?)>();
        if (root is IAdaptableLayer self) result.Add(("", self, null));
        else Walk(root, "", result, new HashSet<Module>(ReferenceEqualityComparer.Instance));
        return result;
    }

    private static void Walk(Module module, string path, List<(string, IAdaptableLayer, LoraFieldSpec?)> result, HashSet<Module> onPath)
    {
        if (!onPath.Add(module)) return;   // a module that contains itself: walk it once
        foreach (var (name, child) in module.Children())
        {
            var childPath = ModulePath.Join(path, name);
            if (child is IAdaptableLayer layer) result.Add((childPath, layer, module.AdapterSpecFor(name) as LoraFieldSpec));
            else Walk(child, childPath, result, onPath);
        }
        onPath.Remove(module);
    }

    extension(IAdaptableLayer layer)
    {
        /// <summary>The layer's LoRA slot, or null while no LoRA adapter was ever added.</summary>
        public LoraLayer? Lora => layer.Adapter as LoraLayer;

        /// <summary>The layer's LoRA slot, created on first use; <paramref name="layerName"/> names it in messages.</summary>
        public LoraLayer EnableLora(string layerName)
        {
            if (layer.Adapter is LoraLayer existing) return existing;
            if (layer.Adapter is not null)
                throw new InvalidOperationException($"{layerName}: the layer already holds a {layer.Adapter.GetType().Name} adapter.");
            var slot = new LoraLayer(layer, layerName);
            layer.Adapter = slot;
            return slot;
        }

        /// <summary>Drops the slot and all its adapters (after merging, this is merge-and-unload).</summary>
        public void RemoveLora()
        {
            if (layer.Adapter is not LoraLayer slot) return;
            slot.Weight.StepLock = null;   // a plain layer again: its (possibly merged) weight may be trained
            layer.Adapter = null;
        }
    }
}
