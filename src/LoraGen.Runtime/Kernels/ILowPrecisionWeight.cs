namespace LoraGen.Kernels;

/// <summary>
/// A frozen weight matrix [Rows, Cols] stored in a format other than fp32 (bf16 here; NF4 or int8 later), which the
/// GEMM widens to fp32 one packed tile at a time (<see cref="Gemm.Sgemm(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ILowPrecisionWeight, float, Span{float}, int, bool)"/>).
/// A format implements only <see cref="WidenRow"/>; the packing, the micro-kernel and fp32 accumulation are the GEMM's.
/// </summary>
public interface ILowPrecisionWeight
{
    /// <summary>Rows of the weight (out_features for a Linear weight).</summary>
    int Rows { get; }

    /// <summary>Columns of the weight (in_features for a Linear weight).</summary>
    int Cols { get; }

    /// <summary>The bytes the format keeps for the whole matrix (scales included).</summary>
    long StorageBytes { get; }

    /// <summary>Writes W[<paramref name="row"/>, <paramref name="col"/> .. col + dst.Length) as fp32 into <paramref name="dst"/>.</summary>
    void WidenRow(int row, int col, Span<float> dst);
}
