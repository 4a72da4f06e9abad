using System.Buffers.Binary;
using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>Little-endian float dtypes to and from float32 (round to nearest even), chunk by chunk.</summary>
internal static class FloatCodec
{
    public static bool IsFloat(SafetensorsDType d) => d is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64;

    public static void ToFloat(SafetensorsDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
                break;
            default:
                throw new NotSupportedException($"dtype {dtype} is not a float type.");
        }
    }

    public static void FromFloat(SafetensorsDType dtype, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], ToBf16(src[i]));
                break;
            case SafetensorsDType.F64:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(dst[(8 * i)..], src[i]);
                break;
            default:
                throw new NotSupportedException($"dtype {dtype} cannot be written from float32.");
        }
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even; NaN stays a quiet NaN.</summary>
    public static ushort ToBf16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>Parses a dtype option value (f32, f16, bf16, any case).</summary>
    public static SafetensorsDType ParseOption(string value) => value.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => SafetensorsDType.F32,
        "f16" or "float16" or "fp16" => SafetensorsDType.F16,
        "bf16" or "bfloat16" => SafetensorsDType.BF16,
        _ => throw new CliException(ExitCodes.Usage, $"--dtype: '{value}' is not one of f32, f16, bf16."),
    };
}
