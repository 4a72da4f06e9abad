using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>Walks a TorchSharp module tree for its LoRA layers: find them, freeze the base around them, list the trainable adapter parameters.</summary>
public static class TorchLoraModules
{
    /// <summary>Every <see cref="TorchLoraLayer"/> under <paramref name="root"/>, with its dotted path (as <c>named_modules()</c> names it).</summary>
    public static IEnumerable<(string Path, TorchLoraLayer Layer)> Layers(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var (path, module) in root.named_modules())
            if (module is TorchLoraLayer layer) yield return (path, layer);
    }

    /// <summary>A and B of every adapter under <paramref name="root"/> (what an optimizer should train), in module order.</summary>
    public static IEnumerable<Parameter> Parameters(nn.Module root)
    {
        foreach (var (_, layer) in Layers(root))
            foreach (var adapter in layer.Adapters.Values)
            {
                yield return adapter.MatrixA;
                yield return adapter.MatrixB;
            }
    }

    /// <summary>
    /// Freezes the base model: every parameter under <paramref name="root"/> that is not inside a LoRA layer gets
    /// requires_grad = false; the adapters' A and B stay trainable. Returns how many parameters were frozen.
    /// </summary>
    public static int FreezeBase(nn.Module root)
    {
        var prefixes = Layers(root).Select(l => l.Path.Length == 0 ? "" : l.Path + ".").ToArray();
        int frozen = 0;
        foreach (var (name, p) in root.named_parameters())
        {
            if (prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))) continue;
            if (p.requires_grad) frozen++;
            p.requires_grad = false;
        }
        return frozen;
    }
}
