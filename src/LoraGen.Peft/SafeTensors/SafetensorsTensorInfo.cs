namespace LoraGen.SafeTensors;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The key.</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions.</param>
/// <param name="Begin">Start of the data, relative to the data buffer.</param>
/// <param name="End">End (exclusive) of the data, relative to the data buffer.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>The shape as int dimensions, as tensor libraries index them; throws when a dimension exceeds int.MaxValue.</summary>
    public int[] IntShape => Shape.Select(d => d > int.MaxValue
        ? throw new SafetensorsException(SafetensorsRule.TensorUnreadable, null, Name, $"shape {SafetensorsDTypes.FormatShape(Shape)} has a dimension above {int.MaxValue}, which a tensor of int dimensions cannot hold.")
        : (int)d).ToArray();

    /// <summary>The number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The number of data bytes (<see cref="End"/> − <see cref="Begin"/>).</summary>
    public long ByteLength => End - Begin;
}
