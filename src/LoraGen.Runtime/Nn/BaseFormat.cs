namespace LoraGen.Nn;

/// <summary>The number format a frozen base weight is multiplied in (A/B of adapters and all accumulation stay fp32).</summary>
public enum BaseFormat
{
    /// <summary>Full fp32: the weight as stored.</summary>
    Fp32,

    /// <summary>bfloat16: the weight is rounded to bf16 and the GEMM reads half the bytes, widening tile by tile.</summary>
    BF16,

    /// <summary>
    /// 4-bit NormalFloat with double-quantized block absmax (QLoRA): ≈ 4.13 bits per weight; the GEMM dequantizes tile
    /// by tile (see <see cref="LoraGen.Kernels.Nf4Weight"/>).
    /// </summary>
    NF4,

    /// <summary>
    /// int8 with one fp32 scale per output channel: the forward (and, by default, dX) runs on int8 dot products with the
    /// activations quantized per row (see <see cref="LoraGen.Kernels.Int8Gemm"/>).
    /// </summary>
    Int8,
}
