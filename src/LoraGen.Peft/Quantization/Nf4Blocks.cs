using System.Runtime.CompilerServices;

namespace LoraGen.Quantization;

/// <summary>
/// A matrix in 4-bit NormalFloat with double quantization (QLoRA, Dettmers et al. 2023), as plain arrays: the one copy
/// of the quantizer and dequantizer that both backends use (the managed runtime's <c>Nf4Weight</c> widens through it;
/// the TorchSharp backend quantizes through it and keeps these bytes as device tensors). The matrix is flattened
/// row-major and cut into blocks of <see cref="BlockSize"/> values; each value is the index of the nearest of the 16
/// <see cref="CodeBook"/> values after dividing by its block's absmax. The absmax values are double-quantized: the mean
/// is subtracted (as bitsandbytes does), then each run of <see cref="AbsmaxBlockSize"/> centered values is coded as
/// int8 with one fp32 scale (a linear code; bitsandbytes uses its 8-bit dynamic map here — same storage). The reference
/// is tools/make_nf4_fixtures.py, which does every fp32 operation in this file's order.
/// </summary>
/// <remarks>
/// Storage: ⌈n/2⌉ bytes of codes (two per byte, the even element in the high nibble) + one sbyte per 64 values + one
/// float per 64·256 values + the offset. Decoding a value: absmax' = q·(s/127) + offset, then W = code book[code]·absmax'.
/// Immutable after construction, so many threads may widen at once.
/// </remarks>
public sealed class Nf4Blocks
{
    /// <summary>Values per absmax block.</summary>
    public const int BlockSize = 64;

    /// <summary>Absmax values per double-quantization block (one fp32 scale each).</summary>
    public const int AbsmaxBlockSize = 256;

    private static readonly float[] Nf4 =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    private readonly byte[] _codes;      // ⌈n/2⌉: element 2i in the high nibble, 2i+1 in the low nibble
    private readonly sbyte[] _qAbsmax;   // [blocks]: round((absmax − offset) / scale · 127)
    private readonly float[] _scales;    // [⌈blocks/256⌉]: max |absmax − offset| over the 256 blocks
    private readonly float _offset;      // mean of all absmax values

    /// <summary>The 16 NF4 values of the QLoRA paper's appendix, ascending (code 7 is exactly 0).</summary>
    public static ReadOnlySpan<float> CodeBook => Nf4;

    /// <summary>Quantizes <paramref name="weight"/> [rows, cols] to NF4 with double-quantized absmax.</summary>
    public Nf4Blocks(ReadOnlySpan<float> weight, int rows, int cols)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != weight.Length)
            throw new ArgumentException($"NF4 weight: {weight.Length} values do not make a {rows}×{cols} matrix.");
        Rows = rows;
        Cols = cols;
        int n = weight.Length, blocks = (n + BlockSize - 1) / BlockSize;
        _codes = new byte[(n + 1) / 2];
        Span<float> mids = stackalloc float[15];
        for (int k = 0; k < 15; k++) mids[k] = (Nf4[k] + Nf4[k + 1]) / 2f;

        var absmax = new float[blocks];
        for (int b = 0; b < blocks; b++)
        {
            var block = weight.Slice(b * BlockSize, Math.Min(BlockSize, n - b * BlockSize));
            float max = 0f;
            foreach (float x in block) max = Math.Max(max, Math.Abs(x));
            absmax[b] = max;
            float divisor = max == 0f ? 1f : max;
            for (int i = 0; i < block.Length; i++)
            {
                float normalized = block[i] / divisor;
                int code = 0;
                for (int k = 0; k < 15; k++) code += normalized > mids[k] ? 1 : 0;   // nearest; ties go down
                int at = b * BlockSize + i;
                _codes[at >> 1] |= (byte)((at & 1) == 0 ? code << 4 : code);
            }
        }

        // Double quantization of the absmax values.
        double sum = 0;
        foreach (float a in absmax) sum += a;
        _offset = blocks == 0 ? 0f : (float)(sum / blocks);
        _qAbsmax = new sbyte[blocks];
        _scales = new float[(blocks + AbsmaxBlockSize - 1) / AbsmaxBlockSize];
        for (int j = 0; j < _scales.Length; j++)
        {
            int start = j * AbsmaxBlockSize, count = Math.Min(AbsmaxBlockSize, blocks - start);
            float s = 0f;
            for (int b = start; b < start + count; b++) s = Math.Max(s, Math.Abs(absmax[b] - _offset));
            _scales[j] = s;
            if (s == 0f) continue;
            for (int b = start; b < start + count; b++)
                _qAbsmax[b] = (sbyte)MathF.Round((absmax[b] - _offset) / s * 127f, MidpointRounding.ToEven);
        }
    }

    /// <summary>Rows of the matrix.</summary>
    public int Rows { get; }

    /// <summary>Columns of the matrix.</summary>
    public int Cols { get; }

    /// <summary>Codes, quantized absmax, scales and the offset: ≈ 4.127 bits per weight (0.129× fp32).</summary>
    public long StorageBytes => _codes.Length + _qAbsmax.Length + 4L * _scales.Length + 4;

    /// <summary>The packed codes, ⌈n/2⌉ bytes: flat element 2i in the high nibble of byte i, 2i+1 in the low nibble.</summary>
    public ReadOnlySpan<byte> PackedCodes => _codes;

    /// <summary>The NF4 code (0..15, an index into <see cref="CodeBook"/>) of flat element <paramref name="index"/>.</summary>
    public int Code(long index) => (index & 1) == 0 ? _codes[index >> 1] >> 4 : _codes[index >> 1] & 0xF;

    /// <summary>The int8 codes of the centered absmax values, one per block.</summary>
    public ReadOnlySpan<sbyte> QuantizedAbsmax => _qAbsmax;

    /// <summary>The fp32 scale of each run of <see cref="AbsmaxBlockSize"/> centered absmax values.</summary>
    public ReadOnlySpan<float> AbsmaxScales => _scales;

    /// <summary>The mean of the absmax values, subtracted before their int8 code.</summary>
    public float AbsmaxOffset => _offset;

    /// <summary>The dequantized absmax of block <paramref name="block"/>: q·(s/127) + offset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Absmax(int block)
    {
        float step = _scales[block / AbsmaxBlockSize] / 127f;
        return _qAbsmax[block] * step + _offset;
    }

    /// <summary>Writes the whole dequantized matrix [Rows, Cols] into <paramref name="dst"/>.</summary>
    public void Dequantize(Span<float> dst)
    {
        if (dst.Length != Rows * Cols) throw new ArgumentException($"NF4 weight {Rows}×{Cols}: destination has {dst.Length} values.");
        for (int r = 0; r < Rows; r++) WidenRow(r, 0, dst.Slice(r * Cols, Cols));
    }

    /// <summary>Dequantizes row <paramref name="row"/> from column <paramref name="col"/> into <paramref name="dst"/> (its length is the count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WidenRow(int row, int col, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows || col < 0 || col + dst.Length > Cols)
            throw new ArgumentOutOfRangeException(nameof(row), $"NF4 weight {Rows}×{Cols}: row {row}, columns {col}..{col + dst.Length}.");
        Span<float> table = stackalloc float[16];   // the code book scaled by the current block's absmax
        long start = (long)row * Cols + col;
        int i = 0;
        while (i < dst.Length)
        {
            long at = start + i;
            int block = (int)(at / BlockSize);
            int end = (int)Math.Min(dst.Length, (long)(block + 1) * BlockSize - start);
            float a = Absmax(block);
            for (int k = 0; k < 16; k++) table[k] = Nf4[k] * a;
            for (; i < end; i++, at++)
            {
                byte pair = _codes[at >> 1];
                dst[i] = table[(at & 1) == 0 ? pair >> 4 : pair & 0xF];
            }
        }
    }
}
