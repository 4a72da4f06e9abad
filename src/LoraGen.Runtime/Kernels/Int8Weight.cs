using System.Runtime.CompilerServices;

namespace LoraGen.Kernels;

/// <summary>
/// A weight matrix W [Rows, Cols] (a Linear's [out, in]) in symmetric int8 with one fp32 scale per row (per output
/// channel): W[r, c] ≈ q[r, c] · s[r], s[r] = max_c |W[r, c]| / 127, q = round(W / s) ∈ [−127, 127] (ties to even).
/// About 1 byte per weight plus 8 per row (scale and code sum; ≈ 0.25× fp32), and once a backward has run another byte
/// per weight for the transposed panels of dX = dY·W (<see cref="Int8Gemm"/>).
/// </summary>
/// <remarks>
/// The codes are kept in the layout the int8 GEMM's forward reads (<see cref="Int8Gemm"/>): columns padded to a multiple
/// of 4 (<see cref="PaddedCols"/>), rows padded to a multiple of <see cref="Int8Gemm.NR"/>, and each panel of NR rows
/// stored as [PaddedCols / 4][NR][4] bytes — for each group of 4 columns, 4 consecutive codes of every row — which is
/// what one VPDPBUSD lane multiplies. Padding codes are 0. <see cref="WidenRow"/> (the fp32 GEMM's tile hook, and the
/// whole-weight view) returns q · s, so every path sees the same dequantized weight.
/// </remarks>
public sealed class Int8Weight : ILowPrecisionWeight
{
    private readonly sbyte[] _packed;   // [⌈Rows/NR⌉][PaddedCols/4][NR][4]
    private readonly float[] _scales;   // [Rows]
    private readonly int[] _rowSums;    // [⌈Rows/NR⌉·NR]: Σ_c q[r, c] (0 for padding rows)

    /// <summary>Quantizes <paramref name="weight"/> [rows, cols] per row.</summary>
    public Int8Weight(ReadOnlySpan<float> weight, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != weight.Length)
            throw new ArgumentException($"int8 weight: {weight.Length} values do not make a {rows}×{cols} matrix.");
        Rows = rows;
        Cols = cols;
        PaddedCols = (cols + 3) & ~3;
        int panels = (rows + Int8Gemm.NR - 1) / Int8Gemm.NR;
        _packed = new sbyte[(long)panels * Int8Gemm.NR * PaddedCols];
        _scales = new float[rows];
        _rowSums = new int[panels * Int8Gemm.NR];
        for (int r = 0; r < rows; r++)
        {
            var w = weight.Slice(r * cols, cols);
            float max = 0f;
            foreach (float x in w) max = Math.Max(max, Math.Abs(x));
            float scale = max / 127f, inv = max == 0f ? 0f : 127f / max;
            _scales[r] = scale;
            int sum = 0;
            for (int c = 0; c < cols; c++)
            {
                int q = Math.Clamp((int)MathF.Round(w[c] * inv, MidpointRounding.ToEven), -127, 127);
                _packed[Index(r, c)] = (sbyte)q;
                sum += q;
            }
            _rowSums[r] = sum;
        }
    }

    /// <inheritdoc />
    public int Rows { get; }

    /// <inheritdoc />
    public int Cols { get; }

    /// <summary>Cols rounded up to a multiple of 4 (one VNNI group).</summary>
    public int PaddedCols { get; }

    /// <summary>Packed codes, scales and row sums, plus the backward's transposed panels once a backward has built them.</summary>
    public long StorageBytes => _packed.Length + 4L * _scales.Length + 4L * _rowSums.Length + (_transposed?.Bytes ?? 0);

    private Int8TransposedPanels? _transposed;

    /// <summary>The codes packed for g·W (built on first use, then kept: the weight is frozen).</summary>
    internal Int8TransposedPanels Transposed
    {
        get
        {
            var t = _transposed;
            if (t is not null) return t;
            t = new Int8TransposedPanels(this);
            return Interlocked.CompareExchange(ref _transposed, t, null) ?? t;
        }
    }

    /// <summary>The per-row scales s[r] (W ≈ q · s).</summary>
    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>The codes in the GEMM's packed layout (see the remarks).</summary>
    internal ReadOnlySpan<sbyte> Packed => _packed;

    /// <summary>Σ_c q[r, c] per row, padded to whole panels with 0.</summary>
    internal ReadOnlySpan<int> RowSums => _rowSums;

    /// <summary>The code q[<paramref name="row"/>, <paramref name="col"/>].</summary>
    public sbyte Code(int row, int col) => _packed[Index(row, col)];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Index(int row, int col) =>
        ((long)(row / Int8Gemm.NR) * PaddedCols + (col & ~3)) * Int8Gemm.NR + (row % Int8Gemm.NR) * 4 + (col & 3);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WidenRow(int row, int col, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows || col < 0 || col + dst.Length > Cols)
            throw new ArgumentOutOfRangeException(nameof(row), $"int8 weight {Rows}×{Cols}: row {row}, columns {col}..{col + dst.Length}.");
        float s = _scales[row];
        int i = 0;
        // Within a group of 4 columns the codes are adjacent; groups are NR·4 bytes apart.
        for (; i < dst.Length && ((col + i) & 3) != 0; i++) dst[i] = _packed[Index(row, col + i)] * s;
        if (i < dst.Length)
        {
            ReadOnlySpan<sbyte> codes = _packed;
            int at = checked((int)Index(row, col + i));
            for (; i + 4 <= dst.Length; i += 4, at += 4 * Int8Gemm.NR)
            {
                dst[i] = codes[at] * s;
                dst[i + 1] = codes[at + 1] * s;
                dst[i + 2] = codes[at + 2] * s;
                dst[i + 3] = codes[at + 3] * s;
            }
            for (; i < dst.Length; i++) dst[i] = _packed[Index(row, col + i)] * s;
        }
    }
}
