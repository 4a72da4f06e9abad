using System.Buffers;
using System.Runtime.InteropServices;

namespace LoraGen.Tensors;

/// <summary>
/// The storage of one tensor rented from <see cref="ActivationPool"/>: a wrapper over a pooled array that every
/// <see cref="Memory{T}"/> made from it refers to. It is the pool's lease: as long as a tensor, a reshape view or a
/// saved <see cref="Memory{T}"/> of it is reachable, this object is, and the pool will not hand the array out again;
/// once the GC finds it unreachable, the array is free for the next tensor of its length.
/// </summary>
internal sealed class PooledStorage : MemoryManager<float>
{
    private readonly float[] _array;
    private readonly int _offset, _length;

    /// <summary>Storage of <paramref name="length"/> floats of <paramref name="array"/> from <paramref name="offset"/>.</summary>
    internal PooledStorage(float[] array, int offset, int length) => (_array, _offset, _length) = (array, offset, length);

    /// <inheritdoc />
    public override Span<float> GetSpan() => _array.AsSpan(_offset, _length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(_array, GCHandleType.Pinned);
        unsafe
        {
            return new MemoryHandle((float*)handle.AddrOfPinnedObject() + _offset + elementIndex, handle, this);
        }
    }

    /// <inheritdoc />
    public override void Unpin() { }

    /// <inheritdoc />
    protected override bool TryGetArray(out ArraySegment<float> segment)
    {
        segment = new ArraySegment<float>(_array, _offset, _length);
        return true;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing) { }
}
