using System.Runtime.InteropServices;

namespace LoraGen.SafeTensors;

/// <summary>Sizes and float conversions of <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.BOOL or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8_E5M2 or SafetensorsDType.F8_E4M3 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        _ => 8,
    };

    /// <summary>Whether float32 data can be written as <paramref name="dtype"/> (F32, F16 or BF16).</summary>
    public static bool IsWritableFromFloat(this SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    internal static bool TryParse(string s, out SafetensorsDType dtype) =>
        Enum.TryParse(s, ignoreCase: false, out dtype) && Enum.IsDefined(dtype) && s == dtype.ToString();

    /// <summary>"[2, 3]": a shape as the messages print it.</summary>
    internal static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Whether elements of <paramref name="dtype"/> convert to float32 (every dtype of the format does; integers above 2²⁴ round).</summary>
    public static bool CanReadAsFloat(this SafetensorsDType dtype) => Enum.IsDefined(dtype);

    /// <summary>FP8 E4M3 (the "fn" variant: no infinities, S.1111.111 is NaN) to float32.</summary>
    private static float F8E4M3ToFloat(byte b)
    {
        int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 7;
        if (exp == 0xF && man == 7) return float.NaN;
        float v = exp == 0 ? man / 8f * MathF.Pow(2, -6) : (1 + man / 8f) * MathF.Pow(2, exp - 7);
        return sign == 1 ? -v : v;
    }

    /// <summary>Whether <paramref name="dtype"/> is a floating-point dtype that <see cref="FromFloat"/> writes (F32, F16, BF16, F64).</summary>
    public static bool IsFloat(this SafetensorsDType dtype) =>
        dtype is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64;

    /// <summary>
    /// Converts raw little-endian elements of <paramref name="dtype"/> (any dtype: integers and BOOL by value, FP8
    /// exactly) to float32, <paramref name="dst"/>.Length elements.
    /// </summary>
    public static void ToFloat(SafetensorsDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (src.Length < (long)dst.Length * dtype.Size())
            throw new ArgumentException($"safetensors: {dst.Length} {dtype} elements need {(long)dst.Length * dtype.Size()} bytes, but {src.Length} are given.", nameof(src));
        ToFloat(dtype, src, dst, "");
    }

    /// <summary>Converts raw little-endian elements of <paramref name="dtype"/> to float32.</summary>
    internal static void ToFloat(SafetensorsDType dtype, ReadOnlySpan<byte> src, Span<float> dst, string key)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(src[2 * i] | src[2 * i + 1] << 8));
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle((src[2 * i] | src[2 * i + 1] << 8) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.ToDouble(src.Slice(8 * i, 8));
                break;
            case SafetensorsDType.I64:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToInt64(src.Slice(8 * i, 8));
                break;
            case SafetensorsDType.I32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToInt32(src.Slice(4 * i, 4));
                break;
            case SafetensorsDType.I16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToInt16(src.Slice(2 * i, 2));
                break;
            case SafetensorsDType.U8 or SafetensorsDType.BOOL:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i];
                break;
            case SafetensorsDType.I8:
                for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i];
                break;
            case SafetensorsDType.U16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToUInt16(src.Slice(2 * i, 2));
                break;
            case SafetensorsDType.U32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToUInt32(src.Slice(4 * i, 4));
                break;
            case SafetensorsDType.U64:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.ToUInt64(src.Slice(8 * i, 8));
                break;
            case SafetensorsDType.F8_E5M2:   // the top byte of an F16
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(src[i] << 8));
                break;
            case SafetensorsDType.F8_E4M3:
                for (int i = 0; i < dst.Length; i++) dst[i] = F8E4M3ToFloat(src[i]);
                break;
            default:
                throw new SafetensorsException(SafetensorsRule.TensorUnreadable, null, key, $"dtype {dtype} cannot be read as float32.");
        }
    }

    /// <summary>
    /// Converts float32 to raw little-endian elements of <paramref name="dtype"/> (F32, F16, BF16 or F64; F16 and
    /// BF16 round to nearest even, a BF16 NaN stays a quiet NaN); writes <paramref name="src"/>.Length elements.
    /// </summary>
    public static void FromFloat(SafetensorsDType dtype, ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (dtype.IsFloat() && dst.Length < (long)src.Length * dtype.Size())
            throw new ArgumentException($"safetensors: {src.Length} {dtype} elements need {(long)src.Length * dtype.Size()} bytes, but {dst.Length} are given.", nameof(dst));
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < src.Length; i++)
                {
                    ushort h = BitConverter.HalfToUInt16Bits((Half)src[i]);
                    dst[2 * i] = (byte)h; dst[2 * i + 1] = (byte)(h >> 8);
                }
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < src.Length; i++)
                {
                    uint bits = BitConverter.SingleToUInt32Bits(src[i]);
                    ushort b = float.IsNaN(src[i]) ? (ushort)((bits >> 16) | 0x40) : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
                    dst[2 * i] = (byte)b; dst[2 * i + 1] = (byte)(b >> 8);
                }
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < src.Length; i++) BitConverter.TryWriteBytes(dst.Slice(8 * i, 8), (double)src[i]);
                break;
            default:
                throw NotWritable(dtype);
        }
    }

    internal static NotSupportedException NotWritable(SafetensorsDType dtype) =>
        new($"safetensors: writing {dtype} is not supported; use F32, F16 or BF16.");
}
