using LoraGen.Peft;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// Walks a TorchSharp module tree for its LoRA layers: find them with their module paths, freeze the base around them,
/// list the trainable adapter parameters, and name an adapter's tensors with PEFT's keys (through the PEFT unit).
/// </summary>
public static class TorchLoraModules
{
    /// <summary>
    /// Every <see cref="TorchLoraLayer"/> under <paramref name="root"/>, with the module path of the layer it adapts
    /// (<c>h.0.attn.q_proj</c>: the owner's path joined with <see cref="TorchLoraLayer.TargetPath"/>), in module order.
    /// </summary>
    public static IEnumerable<(string ModulePath, TorchLoraLayer Layer)> Layers(nn.Module root)
    {
        foreach (var (path, layer) in Registered(root))
        {
            int dot = path.LastIndexOf('.');
            yield return (ModulePath.Join(dot < 0 ? "" : path[..dot], layer.TargetPath), layer);
        }
    }

    /// <summary>A and B of every adapter under <paramref name="root"/> (what an optimizer should train), in module order.</summary>
    public static IEnumerable<Parameter> Parameters(nn.Module root)
    {
        foreach (var (_, layer) in Registered(root))
            foreach (var adapter in layer.Adapters.Values)
            {
                yield return adapter.MatrixA;
                yield return adapter.MatrixB;
            }
    }

    /// <summary>
    /// Adapter <paramref name="adapterName"/>'s A and B of every layer under <paramref name="root"/> that has it, keyed
    /// as in PEFT's adapter file (<c>AdapterKeys.A/B</c> of the module path: the adapter name is not in the key).
    /// The tensors are the live parameters, not copies.
    /// </summary>
    public static IEnumerable<(string Key, Tensor Value)> AdapterTensors(nn.Module root, string adapterName)
    {
        foreach (var (path, layer) in Layers(root))
        {
            if (!layer.Adapters.TryGetValue(adapterName, out var adapter)) continue;
            yield return (AdapterKeys.A(path, layer.Kind), adapter.MatrixA);
            yield return (AdapterKeys.B(path, layer.Kind), adapter.MatrixB);
        }
    }

    /// <summary>
    /// Freezes the base model: every parameter under <paramref name="root"/> that is not inside a LoRA layer gets
    /// requires_grad = false; the adapters' A and B (VeRA's and NoLA's vectors) stay trainable. Returns how many parameters were frozen.
    /// </summary>
    public static int FreezeBase(nn.Module root)
    {
        var prefixes = root.named_modules().Where(m => m.module is TorchLoraLayer or TorchBasisLayer).Select(m => m.name + ".").ToArray();
        int frozen = 0;
        foreach (var (name, p) in root.named_parameters())
        {
            if (prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal))) continue;
            if (p.requires_grad) frozen++;
            p.requires_grad = false;
        }
        return frozen;
    }

    /// <summary>The LoRA layers with the paths they are registered under.</summary>
    private static IEnumerable<(string Path, TorchLoraLayer Layer)> Registered(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var (path, module) in root.named_modules())
            if (module is TorchLoraLayer layer) yield return (path, layer);
    }
}
