namespace LoraGen.SafeTensors;

/// <summary>
/// One tensor to write: its name, the dtype it is stored as, its shape, and its data, either float32 elements
/// (converted to <see cref="DType"/> — F32, F16 or BF16 — while writing) or raw little-endian bytes already in
/// <see cref="DType"/>. The data is read when the file is written, not when the entry is made.
/// </summary>
public sealed record SafetensorsEntry
{
    private SafetensorsEntry(string name, SafetensorsDType dtype, long[] shape, ReadOnlyMemory<float> floats, ReadOnlyMemory<byte> bytes, bool isRaw)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        DType = dtype;
        Shape = shape;
        Floats = floats;
        Bytes = bytes;
        IsRaw = isRaw;
    }

    /// <summary>The tensor's key.</summary>
    public string Name { get; }

    /// <summary>The dtype the tensor is stored as.</summary>
    public SafetensorsDType DType { get; }

    /// <summary>The dimensions (empty for a scalar).</summary>
    public long[] Shape { get; }

    /// <summary>The float32 elements (empty when <see cref="IsRaw"/>).</summary>
    public ReadOnlyMemory<float> Floats { get; }

    /// <summary>The raw little-endian bytes in <see cref="DType"/> (empty unless <see cref="IsRaw"/>).</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>True when the data is given as raw bytes rather than float32 elements.</summary>
    public bool IsRaw { get; }

    /// <summary>The number of elements (1 for a scalar).</summary>
    public long ElementCount => Count(Shape);

    /// <summary>The number of bytes the tensor takes in the file.</summary>
    public long ByteLength => ElementCount * DType.Size();

    /// <summary>
    /// A tensor given as float32 elements in row-major order, stored as <paramref name="dtype"/> (F32, F16 or BF16;
    /// BF16 rounds to nearest even, F16 as IEEE does).
    /// </summary>
    public static SafetensorsEntry FromFloats(string name, long[] shape, ReadOnlyMemory<float> data, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        if (!dtype.IsWritableFromFloat()) throw SafetensorsDTypes.NotWritable(dtype);
        var s = CheckShape(name, shape);
        if (data.Length != Count(s))
            throw new ArgumentException($"safetensors: tensor '{name}' has shape {SafetensorsDTypes.FormatShape(s)} ({Count(s)} elements) but {data.Length} elements of data.", nameof(data));
        return new SafetensorsEntry(name, dtype, s, data, default, isRaw: false);
    }

    /// <summary>As <see cref="FromFloats(string, long[], ReadOnlyMemory{float}, SafetensorsDType)"/>, with int dimensions.</summary>
    public static SafetensorsEntry FromFloats(string name, int[] shape, ReadOnlyMemory<float> data, SafetensorsDType dtype = SafetensorsDType.F32) =>
        FromFloats(name, Array.ConvertAll(shape, d => (long)d), data, dtype);

    /// <summary>A tensor given as raw little-endian bytes of <paramref name="dtype"/> (any dtype), written as they are.</summary>
    public static SafetensorsEntry FromBytes(string name, SafetensorsDType dtype, long[] shape, ReadOnlyMemory<byte> data)
    {
        var s = CheckShape(name, shape);
        long need;
        try { need = checked(Count(s) * dtype.Size()); }
        catch (OverflowException) { throw new ArgumentException($"safetensors: tensor '{name}' has shape {SafetensorsDTypes.FormatShape(s)}, which overflows.", nameof(shape)); }
        if (data.Length != need)
            throw new ArgumentException($"safetensors: tensor '{name}' is {dtype} {SafetensorsDTypes.FormatShape(s)}, which needs {need} bytes, but {data.Length} are given.", nameof(data));
        return new SafetensorsEntry(name, dtype, s, default, data, isRaw: true);
    }

    private static long[] CheckShape(string name, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"safetensors: tensor '{name}' has a negative dimension in {SafetensorsDTypes.FormatShape(shape)}.", nameof(shape));
        return (long[])shape.Clone();
    }

    private static long Count(long[] shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }
}
