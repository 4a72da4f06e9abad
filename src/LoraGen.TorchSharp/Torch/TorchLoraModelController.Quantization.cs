using TorchSharp.Modules;

namespace LoraGen.Torch;

// QLoRA's low-precision base on the TorchSharp backend: Quantize(format) and [LoraModel(BaseQuantization)], with the
// managed backend's semantics (merge into a dequantized copy is exact; MergeAndUnload re-quantizes and says so).
public sealed partial class TorchLoraModelController
{
    private readonly Dictionary<Linear, TorchQuantizedBase> _quantized = new(ReferenceEqualityComparer.Instance);
    private readonly List<string> _requantized = [];

    /// <summary>
    /// QLoRA's frozen base: keeps every frozen Linear weight in <paramref name="format"/> — NF4 with double
    /// quantization (the managed backend's bytes, ≈ 0.13× fp32) or bfloat16 (0.5×) — and dequantizes it per forward
    /// (<see cref="TorchQuantizedBase"/>); adapters stay fp32. <see cref="LoraBaseQuantization.None"/> dequantizes back
    /// (the values the quantized forward used). Layers whose weight trains stay as they are. Refused while an adapter is
    /// merged. Returns the layers in the format.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="LoraBaseQuantization.Int8"/> (the managed backend's; this backend keeps NF4 and BF16), naming the layer; nothing is changed.</exception>
    /// <example><code>model.Lora.Attach(); model.Lora.Quantize(LoraBaseQuantization.Nf4);</code></example>
    public int Quantize(LoraBaseQuantization format)
    {
        if (!Enum.IsDefined(format)) throw new ArgumentException($"Unknown base quantization {(int)format}.", nameof(format));
        if (format != LoraBaseQuantization.None && !TorchQuantizedBase.Keeps(format))
            throw TorchQuantizedBase.NotKept(FirstBaseLinear(), format, $"Quantize({format})");
        if (IsMerged) throw new InvalidOperationException($"Quantize({format}): an adapter is merged into the base; Unmerge() first.");
        int n = 0;
        foreach (var (path, module) in _model.named_modules())
        {
            if (module is not Linear l || l.weight is not { requires_grad: false }) continue;
            if (_quantized.TryGetValue(l, out var q))
            {
                if (q.Format == format) { n++; continue; }
                q.Drop();
                _quantized.Remove(l);
            }
            if (format != LoraBaseQuantization.None) _quantized[l] = new TorchQuantizedBase(l, path, format);
            n++;
        }
        return n;
    }

    /// <summary>The format the base weight of the Linear at <paramref name="path"/> is kept in (<see cref="LoraBaseQuantization.None"/>: fp32).</summary>
    public LoraBaseQuantization BaseQuantizationOf(string path) =>
        _quantized.Values.FirstOrDefault(q => q.Path == path)?.Format ?? LoraBaseQuantization.None;

    /// <summary>The low-precision bases, one per quantized Linear (their bytes: <see cref="TorchQuantizedBase.StorageBytes"/>).</summary>
    public IReadOnlyList<TorchQuantizedBase> QuantizedBases => [.. _quantized.Values];

    /// <summary>
    /// The layers whose low-precision base the last <see cref="MergeAndUnload"/> re-quantized: merging into an NF4/BF16
    /// base rounds W + ΔW to the format again (lossy). To keep the merge exact, <c>Quantize(LoraBaseQuantization.None)</c> first.
    /// </summary>
    public IReadOnlyList<string> RequantizedLayers => [.. _requantized];

    /// <summary>Gives every quantized Linear a real fp32 weight (for a merge or an initialisation that reads W); returns those that were not already.</summary>
    private List<TorchQuantizedBase> MaterializeBases()
    {
        var held = _quantized.Values.Where(q => !q.IsMaterialized).ToList();
        foreach (var q in held) q.Materialize();
        return held;
    }

    /// <summary>Returns <paramref name="bases"/> to their low-precision bytes (re-quantizing changed weights); the paths re-quantized.</summary>
    private static List<string> ReleaseBases(IEnumerable<TorchQuantizedBase> bases) =>
        [.. bases.Where(q => q.IsMaterialized).Where(q => q.Release()).Select(q => q.Path)];

    /// <summary>Refuses, before Attach changes anything, a <c>[LoraModel(BaseQuantization)]</c> this backend does not keep (Int8).</summary>
    private void RefuseUnkeptCompileTimeQuantization()
    {
        var format = Options.BaseQuantization;
        if (format != LoraBaseQuantization.None && !TorchQuantizedBase.Keeps(format))
            throw TorchQuantizedBase.NotKept(FirstBaseLinear(), format, $"[LoraModel(BaseQuantization = {nameof(LoraBaseQuantization)}.{format})]");
    }

    /// <summary>The path of the first Linear a quantization would apply to (a frozen one, else any), for messages.</summary>
    private string FirstBaseLinear()
    {
        string? any = null;
        foreach (var (path, module) in _model.named_modules())
        {
            if (module is not Linear l) continue;
            if (l.weight is { requires_grad: false }) return path;
            any ??= path;
        }
        return any ?? _model.GetName();
    }

    /// <summary>The compile-time <c>[LoraModel(BaseQuantization)]</c>, applied at the end of every Attach.</summary>
    private void ApplyCompileTimeQuantization()
    {
        if (Options.BaseQuantization != LoraBaseQuantization.None && !IsMerged) Quantize(Options.BaseQuantization);
    }
}
