using LoraGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Torch;

/// <summary>
/// QLoRA's frozen base on one TorchSharp <see cref="Linear"/>: the weight kept as 4-bit NormalFloat with double
/// quantization (the PEFT unit's <see cref="Nf4Blocks"/> — the managed backend's bytes — held as device tensors: packed
/// codes uint8, absmax int8 (stored +128 as uint8), one fp32 step per 256 blocks, the offset) or as a bfloat16 tensor. The Linear's own
/// <c>weight</c> parameter becomes a placeholder of the right shape (zeros, one stored value). A forward pre-hook
/// dequantizes the weight into a temporary fp32 tensor for that one call (TorchSharp's Linear is sealed and multiplies
/// by its <c>weight</c>, so there is no tile-level hook as on the managed backend: one dequantized copy of the layer
/// lives per forward, and autograd keeps it until the backward has used it), and a forward hook puts the placeholder
/// back. <see cref="Materialize"/> gives the Linear a real fp32 weight again (merges, DoRA/PiSSA initialisation);
/// <see cref="Release"/> returns to the kept bytes, re-quantizing only when the weight was changed.
/// </summary>
public sealed class TorchQuantizedBase
{
    private readonly Linear _layer;
    private readonly long _rows, _cols;
    private readonly Device _device;
    private readonly ScalarType _dtype;
    private Tensor? _codes, _qAbsmax, _steps, _bf16;   // NF4: codes [⌈n/2⌉] uint8, absmax [blocks] int8, steps [⌈blocks/256⌉] f32; BF16: [out, in]
    private float _offset;
    private long _storageBytes;
    private nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover? _pre, _post;

    internal TorchQuantizedBase(Linear layer, string path, LoraBaseQuantization format)
    {
        if (format == LoraBaseQuantization.None) throw new ArgumentException($"{path}: not a low-precision format: {format}.", nameof(format));
        if (!Keeps(format)) throw NotKept(path, format, $"Quantize({format})");
        _layer = layer;
        Path = path;
        Format = format;
        var w = layer.weight!;
        (_rows, _cols, _device, _dtype) = (w.shape[0], w.shape[1], w.device, w.dtype);
        Store(w);
        Release();
    }

    /// <summary>
    /// The formats this backend keeps a base in: NF4 and BF16. An allow-list, so a format added to
    /// <see cref="LoraBaseQuantization"/> later (Int8, the managed backend's) is refused, never taken for another.
    /// </summary>
    public static bool Keeps(LoraBaseQuantization format) => format is LoraBaseQuantization.Nf4 or LoraBaseQuantization.Bf16;

    /// <summary>The refusal of a format this backend does not keep, naming the layer and where the format was asked for.</summary>
    internal static NotSupportedException NotKept(string path, LoraBaseQuantization format, string askedBy) =>
        new($"{path}: {askedBy}: the TorchSharp backend keeps NF4 and BF16 bases only " +
            $"({nameof(LoraBaseQuantization)}.{nameof(LoraBaseQuantization.Nf4)}, {nameof(LoraBaseQuantization)}.{nameof(LoraBaseQuantization.Bf16)}), not {format}; " +
            $"the managed backend (LoraGen.Runtime) has {nameof(LoraBaseQuantization.Int8)}. Nothing was changed.");

    /// <summary>The Linear's module path.</summary>
    public string Path { get; }

    /// <summary>NF4 or BF16.</summary>
    public LoraBaseQuantization Format { get; }

    /// <summary>The Linear, whose weight is a placeholder while <see cref="IsMaterialized"/> is false.</summary>
    public Linear Layer => _layer;

    /// <summary>True while the Linear holds a real fp32 weight (after <see cref="Materialize"/>, until <see cref="Release"/>).</summary>
    public bool IsMaterialized { get; private set; }

    /// <summary>The bytes of the kept low-precision weight (NF4: codes, int8 absmax, fp32 steps and offset ≈ 0.129× fp32; BF16: 0.5×).</summary>
    public long StorageBytes => _storageBytes;

    /// <summary>The dequantized weight [out, in] in the layer's dtype, on its device: a new tensor the caller disposes.</summary>
    public Tensor Dequantize()
    {
        using var _ = torch.no_grad();
        if (_bf16 is { } h) return h.to(_dtype);
        // value = code book[code] · (q · step + offset), blocks of 64 values, 256 absmax per step (Nf4Blocks' order).
        long n = _rows * _cols, blocks = _qAbsmax!.shape[0];
        using var c = _codes!.to(ScalarType.Int64);
        using var hi = c.div(16, RoundingMode.floor);
        using var lo = c.remainder(16);
        using var pairs = torch.stack([hi, lo], 1);
        using var idx = pairs.reshape(-1).narrow(0, 0, n);
        using var book = torch.tensor(Nf4Blocks.CodeBook.ToArray(), device: _device);
        using var values = book.index_select(0, idx);
        using var stepPerBlock = _steps!.repeat_interleave(Nf4Blocks.AbsmaxBlockSize).narrow(0, 0, blocks);
        using var biased = _qAbsmax.to(ScalarType.Float32);
        using var q = biased.sub(128f);
        using var scaled = q.mul(stepPerBlock);
        using var absmax = scaled.add(_offset);
        using var perValue = absmax.repeat_interleave(Nf4Blocks.BlockSize).narrow(0, 0, n);
        using var w = values.mul(perValue);
        return w.reshape(_rows, _cols).to(_dtype);
    }

    /// <summary>Gives the Linear a real weight again: the dequantized values, as an fp32 (the layer's dtype) frozen parameter. No-op when already materialized.</summary>
    public void Materialize()
    {
        if (IsMaterialized) return;
        RemoveHooks();
        SetWeight(Dequantize());
        IsMaterialized = true;
    }

    /// <summary>
    /// Returns to the kept low-precision bytes and drops the fp32 weight. When the materialized weight was changed (a
    /// merge, a residual initialisation) it is quantized anew first (lossy) and this returns true.
    /// </summary>
    public bool Release()
    {
        bool requantized = false;
        if (IsMaterialized)
        {
            var w = _layer.weight!;
            using var kept = Dequantize();
            if (!kept.allclose(w, rtol: 0, atol: 0))
            {
                Store(w);
                requantized = true;
            }
        }
        SetWeight(Placeholder());
        IsMaterialized = false;
        RemoveHooks();
        _pre = _layer.register_forward_pre_hook((_, x) => { SetWeight(Dequantize()); return x; });
        _post = _layer.register_forward_hook((_, _, y) => { SetWeight(Placeholder()); return y; });
        return requantized;
    }

    /// <summary>Takes the quantization off for good: the Linear keeps the dequantized fp32 weight (the values the quantized forward used).</summary>
    internal void Drop()
    {
        Materialize();
        _codes?.Dispose();
        _qAbsmax?.Dispose();
        _steps?.Dispose();
        _bf16?.Dispose();
    }

    private void Store(Tensor weight)
    {
        using var _ = torch.no_grad();
        _codes?.Dispose(); _qAbsmax?.Dispose(); _steps?.Dispose(); _bf16?.Dispose();
        _codes = _qAbsmax = _steps = _bf16 = null;
        if (Format == LoraBaseQuantization.Bf16)
        {
            _bf16 = weight.detach().to(ScalarType.BFloat16, copy: true).DetachFromDisposeScope();
            _storageBytes = 2 * _rows * _cols;
            return;
        }
        // NF4 (the constructor admits NF4 and BF16 only).
        float[] values;
        using (var cpu = weight.detach().to(ScalarType.Float32, torch.CPU, copy: true).contiguous()) values = cpu.data<float>().ToArray();
        var blocks = new Nf4Blocks(values, (int)_rows, (int)_cols);   // the PEFT unit's quantizer: the managed backend's bytes
        var steps = new float[blocks.AbsmaxScales.Length];
        for (int j = 0; j < steps.Length; j++) steps[j] = blocks.AbsmaxScales[j] / 127f;   // Nf4Blocks.Absmax's step, computed here once
        _codes = torch.tensor(blocks.PackedCodes.ToArray(), device: _device).DetachFromDisposeScope();
        var biased = new byte[blocks.QuantizedAbsmax.Length];   // q + 128 as uint8 (TorchSharp makes int8 tensors awkwardly; the bias is exact)
        for (int b = 0; b < biased.Length; b++) biased[b] = (byte)(blocks.QuantizedAbsmax[b] + 128);
        _qAbsmax = torch.tensor(biased, device: _device).DetachFromDisposeScope();
        _steps = torch.tensor(steps, device: _device).DetachFromDisposeScope();
        _offset = blocks.AbsmaxOffset;
        _storageBytes = blocks.StorageBytes;
    }

    private Tensor Placeholder()
    {
        using var one = torch.zeros(1, 1, dtype: _dtype, device: _device);
        return one.expand(_rows, _cols);
    }

    private void SetWeight(Tensor value) => _layer.weight = new Parameter(value, requires_grad: false);

    private void RemoveHooks()
    {
        _pre?.remove();
        _post?.remove();
        _pre = _post = null;
    }
}
