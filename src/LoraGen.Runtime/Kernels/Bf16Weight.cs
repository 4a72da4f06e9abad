using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LoraGen.Kernels;

/// <summary>
/// A weight matrix in bfloat16 (the top 16 bits of an fp32: same exponent range, 8 significant bits): half the bytes
/// of fp32. Widening is exact (a shift), so a GEMM over this weight equals the fp32 GEMM over the rounded weight.
/// </summary>
public sealed class Bf16Weight : ILowPrecisionWeight
{
    private readonly ushort[] _bits;   // [Rows, Cols] row-major

    /// <summary>Rounds <paramref name="weight"/> [rows, cols] to bf16 (round to nearest, ties to even).</summary>
    public Bf16Weight(ReadOnlySpan<float> weight, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != weight.Length)
            throw new ArgumentException($"bf16 weight: {weight.Length} values do not make a {rows}×{cols} matrix.");
        Rows = rows;
        Cols = cols;
        _bits = GC.AllocateUninitializedArray<ushort>(weight.Length);
        for (int i = 0; i < weight.Length; i++) _bits[i] = Round(weight[i]);
    }

    /// <inheritdoc />
    public int Rows { get; }

    /// <inheritdoc />
    public int Cols { get; }

    /// <inheritdoc />
    public long StorageBytes => 2L * _bits.Length;

    /// <summary>The bf16 bits of <paramref name="x"/>, rounded to nearest even (NaN stays NaN).</summary>
    public static ushort Round(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((u >> 16) | 0x40);   // keep it a (quiet) NaN
        u += 0x7FFF + ((u >> 16) & 1);
        return (ushort)(u >> 16);
    }

    /// <summary>The fp32 value of bf16 bits.</summary>
    public static float Widen(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>x rounded to the nearest bf16 value, as fp32.</summary>
    public static float RoundToFloat(float x) => Widen(Round(x));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WidenRow(int row, int col, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows || col < 0 || col + dst.Length > Cols)
            throw new ArgumentOutOfRangeException(nameof(row), $"bf16 weight {Rows}×{Cols}: row {row}, columns {col}..{col + dst.Length}.");
        ReadOnlySpan<ushort> src = _bits.AsSpan(row * Cols + col, dst.Length);
        var dstBits = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // 16 bf16 → two vectors of 8 fp32: zero-extend to 32 bits, shift into the high half.
            for (; i <= src.Length - 16; i += 16)
            {
                var v = Vector256.Create(src.Slice(i, 16));
                var (lo, hi) = Vector256.Widen(v);
                Vector256.ShiftLeft(lo, 16).CopyTo(dstBits.Slice(i, 8));
                Vector256.ShiftLeft(hi, 16).CopyTo(dstBits.Slice(i + 8, 8));
            }
        }
        for (; i < src.Length; i++) dstBits[i] = (uint)src[i] << 16;
    }
}
