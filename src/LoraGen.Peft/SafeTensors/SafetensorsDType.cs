namespace LoraGen.SafeTensors;

/// <summary>
/// Element types of the safetensors format, in the reference implementation's alignment order
/// (the writer sorts tensors by descending position in this order, then by name).
/// </summary>
public enum SafetensorsDType
{
    /// <summary>Boolean, 1 byte.</summary>
    BOOL,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>FP8 (5-bit exponent).</summary>
    F8_E5M2,
    /// <summary>FP8 (4-bit exponent).</summary>
    F8_E4M3,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>IEEE half precision.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>IEEE single precision.</summary>
    F32,
    /// <summary>IEEE double precision.</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
}
