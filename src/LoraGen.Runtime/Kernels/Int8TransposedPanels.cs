namespace LoraGen.Kernels;

/// <summary>
/// The codes of an <see cref="Int8Weight"/> W [Rows, Cols] packed for the backward product g·W, whose sum runs over W's
/// rows: panels of <see cref="Int8Gemm.NR"/> columns, each [PaddedRows / 4][NR][4] (4 consecutive rows of one column per
/// VNNI lane), padding 0; plus Σ_r q[r, c] per column. Built from the forward layout on the first backward.
/// </summary>
internal sealed class Int8TransposedPanels
{
    public Int8TransposedPanels(Int8Weight w)
    {
        PaddedRows = (w.Rows + 3) & ~3;
        int panels = (w.Cols + Int8Gemm.NR - 1) / Int8Gemm.NR;
        Packed = new sbyte[(long)panels * Int8Gemm.NR * PaddedRows];
        ColumnSums = new int[panels * Int8Gemm.NR];
        for (int r = 0; r < w.Rows; r++)
            for (int c = 0; c < w.Cols; c++)
            {
                sbyte q = w.Code(r, c);
                Packed[((long)(c / Int8Gemm.NR) * PaddedRows + (r & ~3)) * Int8Gemm.NR + (c % Int8Gemm.NR) * 4 + (r & 3)] = q;
                ColumnSums[c] += q;
            }
    }

    /// <summary>Rows rounded up to a multiple of 4.</summary>
    public int PaddedRows { get; }

    /// <summary>The codes in the backward's panel layout.</summary>
    public sbyte[] Packed { get; }

    /// <summary>Σ_r q[r, c] per column, padded to whole panels with 0.</summary>
    public int[] ColumnSums { get; }

    /// <summary>The bytes held.</summary>
    public long Bytes => Packed.Length + 4L * ColumnSums.Length;
}
