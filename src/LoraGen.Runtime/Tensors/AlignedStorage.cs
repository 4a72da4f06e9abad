namespace LoraGen.Tensors;

/// <summary>
/// Float arrays whose storage starts on a 64-byte cache line, so that the kernels' vector loads and stores never
/// straddle two lines, wherever the GC happened to put the array. The array is pinned (never moved by a compaction)
/// and one cache line longer than asked; the storage is the aligned slice of it.
/// </summary>
internal static class AlignedStorage
{
    /// <summary>Floats per cache line.</summary>
    internal const int LineFloats = 64 / sizeof(float);

    /// <summary>A pinned, uninitialized array with room for <paramref name="length"/> aligned floats, and where they start.</summary>
    internal static (float[] Array, int Offset) Allocate(int length)
    {
        var array = GC.AllocateUninitializedArray<float>(length + LineFloats, pinned: true);
        unsafe
        {
            fixed (float* p = array) return (array, (int)(((64 - ((nint)p & 63)) & 63) / sizeof(float)));
        }
    }

    /// <summary>Uninitialized aligned storage of <paramref name="length"/> floats.</summary>
    internal static Memory<float> Uninitialized(int length)
    {
        var (array, offset) = Allocate(length);
        return array.AsMemory(offset, length);
    }

    /// <summary>Zeroed aligned storage of <paramref name="length"/> floats.</summary>
    internal static Memory<float> Zeroed(int length)
    {
        var m = Uninitialized(length);
        m.Span.Clear();
        return m;
    }
}
