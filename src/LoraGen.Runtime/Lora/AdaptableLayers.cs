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
    /// <see cref="Module.Children"/> order, with the <c>[Lora]</c> settings of its field (null when it has none).
    /// </summary>
    public static IReadOnlyList<(string Path, IAdaptableLayer Layer, LoraFieldSpec? Spec)> Find(Module root)
    {
        var result = new List<(string, IAdaptableLayer, LoraFieldSpec?)>();
        if (root is IAdaptableLayer self) result.Add(("", self, null));
        else Walk(root, "", result);
        return result;
    }

    private static void Walk(Module module, string path, List<(string, IAdaptableLayer, LoraFieldSpec?)> result)
    {
        foreach (var (name, child) in module.Children())
        {
            var childPath = ModulePath.Join(path, name);
            if (child is IAdaptableLayer layer) result.Add((childPath, layer, module.AdapterSpecFor(name) as LoraFieldSpec));
            else Walk(child, childPath, result);
        }
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
            var slot = new LoraLayer(layer.Kind, layer.Weight, layerName);
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
