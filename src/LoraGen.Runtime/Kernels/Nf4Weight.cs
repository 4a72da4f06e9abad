using LoraGen.Quantization;

namespace LoraGen.Kernels;

/// <summary>
/// A weight matrix in 4-bit NormalFloat with double quantization (QLoRA, Dettmers et al. 2023), about 4.13 bits per
/// weight, as the GEMM's low-precision weight. The format, the quantizer and the dequantizer are the PEFT unit's
/// <see cref="Nf4Blocks"/> (the one copy, which the TorchSharp backend uses too); this type gives it the GEMM's tile hook.
/// </summary>
/// <remarks>No state is shared between calls, so the parallel GEMM may widen from many threads.</remarks>
public sealed class Nf4Weight : ILowPrecisionWeight
{
    /// <summary>Values per absmax block.</summary>
    public const int BlockSize = Nf4Blocks.BlockSize;

    /// <summary>Absmax values per double-quantization block (one fp32 scale each).</summary>
    public const int AbsmaxBlockSize = Nf4Blocks.AbsmaxBlockSize;

    private readonly Nf4Blocks _blocks;

    /// <summary>The 16 NF4 values of the QLoRA paper's appendix, ascending (code 7 is exactly 0).</summary>
    public static ReadOnlySpan<float> CodeBook => Nf4Blocks.CodeBook;

    /// <summary>Quantizes <paramref name="weight"/> [rows, cols] to NF4 with double-quantized absmax.</summary>
    public Nf4Weight(ReadOnlySpan<float> weight, int rows, int cols) => _blocks = new Nf4Blocks(weight, rows, cols);

    /// <summary>The quantized bytes (codes, int8 absmax, scales, offset).</summary>
    public Nf4Blocks Blocks => _blocks;

    /// <inheritdoc />
    public int Rows => _blocks.Rows;

    /// <inheritdoc />
    public int Cols => _blocks.Cols;

    /// <summary>Codes, quantized absmax, scales and the offset: ≈ 4.127 bits per weight (0.129× fp32).</summary>
    public long StorageBytes => _blocks.StorageBytes;

    /// <summary>The NF4 code (0..15, an index into <see cref="CodeBook"/>) of flat element <paramref name="index"/>.</summary>
    public int Code(long index) => _blocks.Code(index);

    /// <summary>The int8 codes of the centered absmax values, one per block.</summary>
    public ReadOnlySpan<sbyte> QuantizedAbsmax => _blocks.QuantizedAbsmax;

    /// <summary>The fp32 scale of each run of <see cref="AbsmaxBlockSize"/> centered absmax values.</summary>
    public ReadOnlySpan<float> AbsmaxScales => _blocks.AbsmaxScales;

    /// <summary>The mean of the absmax values, subtracted before their int8 code.</summary>
    public float AbsmaxOffset => _blocks.AbsmaxOffset;

    /// <summary>The dequantized absmax of block <paramref name="block"/>: q·(s/127) + offset.</summary>
    public float Absmax(int block) => _blocks.Absmax(block);

    /// <summary>Writes the whole dequantized matrix [Rows, Cols] into <paramref name="dst"/>.</summary>
    public void Dequantize(Span<float> dst) => _blocks.Dequantize(dst);

    /// <inheritdoc />
    public void WidenRow(int row, int col, Span<float> dst) => _blocks.WidenRow(row, col, dst);
}
