using System.Globalization;
using System.Text;

namespace LoraGen.Lora;

/// <summary>
/// Where a model's training memory goes, per component, counted from the actual tensors, arrays and low-precision
/// storages (<see cref="LoraModelController.MemoryReport"/>). All figures are bytes.
/// </summary>
public sealed record MemoryReport
{
    /// <summary>Frozen base parameters held in fp32 (Linear weights not cast, embeddings, norms, biases).</summary>
    public long BaseFp32Bytes { get; init; }

    /// <summary>Frozen Linear weights held in bf16 (<see cref="Nn.BaseFormat.BF16"/>).</summary>
    public long BaseBf16Bytes { get; init; }

    /// <summary>Frozen Linear weights held in NF4 with double quantization (<see cref="Nn.BaseFormat.NF4"/>), scales included.</summary>
    public long BaseNf4Bytes { get; init; }

    /// <summary>Frozen Linear weights held in int8 with per-channel scales (<see cref="Nn.BaseFormat.Int8"/>), the backward's transposed copy included once built.</summary>
    public long BaseInt8Bytes { get; init; }

    /// <summary>Base parameters that train (full fine-tuning, an unfrozen bias), fp32.</summary>
    public long TrainableBaseBytes { get; init; }

    /// <summary>Adapter parameters of every adapter (A, B, magnitudes, saved module copies, token rows), fp32.</summary>
    public long AdapterBytes { get; init; }

    /// <summary>
    /// Frozen random matrices of VeRA/NoLA adapters, fp32: VeRA's shared projection A [r, max_in] and B [max_out, r]
    /// (once per adapter) plus each layer's slices of them, NoLA's bases [k_A, r·in] and [k_B, out·r] per layer.
    /// </summary>
    public long FrozenAdapterBytes { get; init; }

    /// <summary>The part of <see cref="AdapterBytes"/> that trains now (LoRA-FA's frozen A is not in it).</summary>
    public long TrainableAdapterBytes { get; init; }

    /// <summary>Gradient buffers allocated now, over every parameter.</summary>
    public long GradientBytes { get; init; }

    /// <summary>The optimizer's state (Adam's two moments per trained element; allocated at its first step), or 0 without one.</summary>
    public long OptimizerStateBytes { get; init; }

    /// <summary>What the recorded graph's backward functions read (see <see cref="Autograd.GraphMemory"/>), or null when no forward output was given.</summary>
    public long? SavedActivationBytes { get; init; }

    /// <summary>
    /// What the recorded graph pins (its saved items and the root; nodes refer to their inputs by autograd vertex, so an
    /// intermediate no backward reads is not held), or null when no forward output was given.
    /// </summary>
    public long? GraphHeldBytes { get; init; }

    /// <summary>Base weights in every format.</summary>
    public long BaseBytes => BaseFp32Bytes + BaseBf16Bytes + BaseNf4Bytes + BaseInt8Bytes + TrainableBaseBytes;

    /// <summary>Base + adapters (frozen projections/bases included) + gradients + optimizer state + saved activations.</summary>
    public long TotalBytes => BaseBytes + AdapterBytes + FrozenAdapterBytes + GradientBytes + OptimizerStateBytes + (SavedActivationBytes ?? 0);

    /// <summary>A Markdown table: component, MB, share of the total.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("| component | MB | share |\n|---|---:|---:|\n");
        void Row(string name, long? bytes)
        {
            if (bytes is not { } b) return;
            double share = TotalBytes == 0 ? 0 : 100.0 * b / TotalBytes;
            sb.Append(inv, $"| {name} | {b / 1048576.0:F2} | {share:F1}% |\n");
        }
        Row("base weights, fp32 (frozen)", BaseFp32Bytes);
        if (BaseBf16Bytes > 0) Row("base weights, bf16 (frozen)", BaseBf16Bytes);
        if (BaseNf4Bytes > 0) Row("base weights, NF4 (frozen)", BaseNf4Bytes);
        if (BaseInt8Bytes > 0) Row("base weights, int8 (frozen)", BaseInt8Bytes);
        if (TrainableBaseBytes > 0) Row("base weights, trained", TrainableBaseBytes);
        Row($"adapter weights ({TrainableAdapterBytes / 1048576.0:F2} MB trained)", AdapterBytes);
        if (FrozenAdapterBytes > 0) Row("adapter projections/bases (frozen)", FrozenAdapterBytes);
        Row("gradients", GradientBytes);
        Row("optimizer state", OptimizerStateBytes);
        Row("saved activations", SavedActivationBytes);
        sb.Append(inv, $"| **total** | {TotalBytes / 1048576.0:F2} | 100% |\n");
        if (GraphHeldBytes is { } h) sb.Append(inv, $"(the graph pins {h / 1048576.0:F2} MB: saved activations and the output)\n");
        return sb.ToString();
    }
}
