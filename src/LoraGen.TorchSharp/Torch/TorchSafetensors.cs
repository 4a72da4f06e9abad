using LoraGen.Peft;
using LoraGen.SafeTensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// Safetensors for TorchSharp tensors and models through the PEFT unit's reader and writer (TorchSharp has none of
/// its own): tensor ↔ entry, and base weights loaded into a model by state-dict name.
/// </summary>
public static class TorchSafetensors
{
    /// <summary>The entry that writes <paramref name="tensor"/> (any float dtype, any device) under <paramref name="name"/> as <paramref name="dtype"/>.</summary>
    public static SafetensorsEntry ToEntry(string name, Tensor tensor, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var _ = torch.no_grad();
        using var f = tensor.detach().to(ScalarType.Float32, torch.CPU, copy: true);
        using var c = f.contiguous();
        return SafetensorsEntry.FromFloats(name, c.shape, c.data<float>().ToArray(), dtype);
    }

    /// <summary>Tensor <paramref name="key"/> of <paramref name="file"/> as a new float32 CPU tensor (F32, F16 and BF16 entries); the caller disposes it.</summary>
    public static Tensor ReadTensor(SafetensorsFile file, string key)
    {
        ArgumentNullException.ThrowIfNull(file);
        var info = file.Info(key);
        return torch.tensor(file.ReadFloats(key), [.. info.Shape]);
    }

    /// <summary>
    /// Copies the tensors of the safetensors file at <paramref name="path"/> into <paramref name="model"/>'s parameters
    /// and buffers of the same state-dict name (<c>blocks.0.q_proj.weight</c>), converting to each one's dtype and
    /// device, under <c>no_grad</c>. LoRA adapters are not base weights and are left out. With
    /// <paramref name="strict"/>, any missing, unexpected or mis-shaped key throws
    /// <see cref="LoraAdapterException"/> before anything is copied; without, the matching keys are copied.
    /// Returns the match.
    /// </summary>
    public static KeyMatch LoadWeights(nn.Module model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var file = SafetensorsFile.Open(path);
        var lora = TorchLoraModulesPaths(model);
        var state = model.state_dict()
            .Where(kv => !lora.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var match = file.Match(state.Select(kv => (kv.Key, kv.Value.shape)));
        if (strict && !match.IsExact)
            throw new LoraAdapterException(path, "the weights do not fit this model", match.Missing, match.Unexpected, match.Mismatched);
        using var _ = torch.no_grad();
        foreach (var key in match.Matched)
        {
            using var source = ReadTensor(file, key);
            state[key].copy_(source);
        }
        return match;
    }

    private static List<string> TorchLoraModulesPaths(nn.Module model) =>
        [.. model.named_modules().Where(m => m.module is TorchLoraLayer or TorchBasisLayer).Select(m => m.name + ".")];
}
