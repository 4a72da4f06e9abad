using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.Optim;
using LoraGen.Tensors;

namespace LoraGen.Lora;

public sealed partial class LoraModelController
{
    private readonly List<string> _requantized = [];

    /// <summary>
    /// QLoRA's frozen base: stores every frozen Linear base weight in <paramref name="format"/> and releases its fp32
    /// array (<see cref="Linear.CastBase"/>; NF4 ≈ 0.13×, int8 ≈ 0.25×, BF16 0.5× of the fp32 bytes); adapters stay fp32.
    /// <see cref="BaseFormat.Fp32"/> dequantizes back (exact: the values the quantized GEMM used — merge into that copy
    /// is exact). Layers whose weight trains stay fp32. Refused while an adapter is merged. Returns the layers cast.
    /// </summary>
    /// <example><code>model.Lora.Attach(); model.Lora.Quantize(BaseFormat.NF4);</code></example>
    public int Quantize(BaseFormat format)
    {
        lock (_gate) return QuantizeLocked(format);
    }

    private int QuantizeLocked(BaseFormat format)
    {
        if (IsMerged) throw new InvalidOperationException($"Quantize({format}): an adapter is merged into the base; Unmerge() first.");
        int n = 0;
        foreach (var (_, m) in _model.NamedModules())
            if (m is Linear l && !l.Weight.RequiresGrad)
            {
                if (l.BaseFormat != format) l.CastBase(format);   // already in the format: not re-quantized
                n++;
            }
        return n;
    }

    /// <summary>The compile-time <c>[LoraModel(BaseQuantization)]</c>, applied at the end of every Attach.</summary>
    private void ApplyCompileTimeQuantization()
    {
        var format = Options.BaseQuantization switch
        {
            LoraBaseQuantization.Nf4 => BaseFormat.NF4,
            LoraBaseQuantization.Bf16 => BaseFormat.BF16,
            LoraBaseQuantization.Int8 => BaseFormat.Int8,
            _ => BaseFormat.Fp32,
        };
        if (format != BaseFormat.Fp32) QuantizeLocked(format);
    }

    /// <summary>
    /// The layers whose low-precision base the last <see cref="MergeAndUnload"/> re-quantized: merging into an NF4/BF16
    /// base rounds W + ΔW to the format again (lossy). To keep the merge exact, <c>Quantize(BaseFormat.Fp32)</c> first.
    /// </summary>
    public IReadOnlyList<string> RequantizedLayers
    {
        get { lock (_gate) return _requantized.ToArray(); }
    }

    /// <summary>Re-quantizes the merged weights of low-precision layers after a MergeAndUnload, noting each layer.</summary>
    private void RequantizeMergedBases()
    {
        _requantized.Clear();
        foreach (var (path, m) in _model.NamedModules())
            if (m is Linear { LowPrecisionBase: not null } l && l.CompactBase()) _requantized.Add(path);
    }

    /// <summary>
    /// Counts the model's training memory per component from the actual storages: base weights by format, adapter
    /// weights (VeRA's projections and NoLA's bases apart), gradients, <paramref name="optimizer"/>'s state, and — given the <paramref name="output"/> of a forward
    /// pass (e.g. the loss, before <c>Backward</c> releases the graph) — the activations its graph saved for backward.
    /// </summary>
    public MemoryReport MemoryReport(Optimizer? optimizer = null, Tensor? output = null)
    {
        var linears = new Dictionary<Tensor, Linear>(ReferenceEqualityComparer.Instance);
        foreach (var (_, m) in _model.NamedModules())
            if (m is Linear l) linears[l.Weight] = l;
        var baseParams = _model.Parameters(includeAdapters: false).ToHashSet(ReferenceEqualityComparer.Instance);
        long fp32 = 0, bf16 = 0, nf4 = 0, int8 = 0, trainedBase = 0, adapters = 0, trainedAdapters = 0, grads = 0;
        var all = new List<Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in _model.Parameters(includeAdapters: true).Concat(AuxSlots().SelectMany(a => _names.SelectMany(a.ParametersOf))))
        {
            if (!seen.Add(p)) continue;
            all.Add(p);
            long bytes = 4L * p.Size;
            if (p.Grad is { } g) grads += 4L * g.Size;
            if (!baseParams.Contains(p))
            {
                adapters += bytes;
                if (p.RequiresGrad) trainedAdapters += bytes;
            }
            else if (p.RequiresGrad) trainedBase += bytes;
            else if (linears.TryGetValue(p, out var l) && l.BaseFormat != BaseFormat.Fp32)
            {
                if (l.BaseFormat == BaseFormat.NF4) nf4 += l.BaseWeightBytes;
                else if (l.BaseFormat == BaseFormat.Int8) int8 += l.BaseWeightBytes;
                else bf16 += l.BaseWeightBytes;
            }
            else fp32 += bytes;
        }
        long frozenAdapters = 0;
        var frozenSeen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);   // VeRA's projection is shared: once
        foreach (var t in AllLayers().Select(l => l.Layer.Adapter).OfType<BasisSlot>().SelectMany(s => s.FrozenTensors()))
            if (frozenSeen.Add(t)) frozenAdapters += 4L * t.Size;
        var graph = output is null ? null : GraphMemory.Measure(output, all);
        return new MemoryReport
        {
            BaseFp32Bytes = fp32,
            BaseBf16Bytes = bf16,
            BaseNf4Bytes = nf4,
            BaseInt8Bytes = int8,
            TrainableBaseBytes = trainedBase,
            AdapterBytes = adapters,
            TrainableAdapterBytes = trainedAdapters,
            FrozenAdapterBytes = frozenAdapters,
            GradientBytes = grads,
            OptimizerStateBytes = optimizer?.StateBytes ?? 0,
            SavedActivationBytes = graph?.SavedForBackwardBytes,
            GraphHeldBytes = graph?.HeldByGraphBytes,
        };
    }
}
