namespace LoraGen;

/// <summary>
/// The format the frozen base Linear weights are stored in once adapters are attached (QLoRA's base); adapters and all
/// accumulation stay fp32. Embeddings, norms and biases stay fp32 whatever this says.
/// </summary>
public enum LoraBaseQuantization
{
    /// <summary>The base stays fp32.</summary>
    None = 0,

    /// <summary>bfloat16: half the bytes; the GEMM widens tile by tile (exact widening of the rounded weight).</summary>
    Bf16 = 1,

    /// <summary>4-bit NormalFloat with double quantization (QLoRA): ≈ 4.13 bits per weight, dequantized tile by tile.</summary>
    Nf4 = 2,

    /// <summary>
    /// int8 with one fp32 scale per output channel (≈ 0.25× fp32): the products run on the CPU's int8 dot-product
    /// instructions with the activations quantized per token (dynamic quantization), dequantized to fp32 outputs.
    /// </summary>
    Int8 = 3,
}
