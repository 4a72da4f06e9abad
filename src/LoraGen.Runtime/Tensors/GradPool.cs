using System.Runtime.InteropServices;

namespace LoraGen.Tensors;

/// <summary>
/// Recycles the storage of intermediate gradients, so that a training step stops allocating its backward pass anew
/// each time. Ownership is simple: gradient buffers (<see cref="Tensor.GradBuffer"/>, <see cref="Tensor.GradZeroed"/>,
/// the copy in <see cref="Tensor.AccumulateGrad"/>) are rented here and marked as such; the backward pass owns an
/// intermediate tensor's gradient once that tensor's node has run and hands the array back, unless an input's gradient
/// now shares it (a hand-off). Leaf gradients (parameters) are never handed back: the caller may keep them. Arrays are
/// pooled by exact length (a model has few gradient sizes), up to <see cref="CapacityBytes"/>; smaller ones than
/// <see cref="MinLength"/> are left to the GC. <c>LORAGEN_GRAD_POOL=0</c> turns it off.
/// </summary>
internal static class GradPool
{
    /// <summary>Arrays below this many floats are not pooled (the GC handles them cheaply).</summary>
    internal const int MinLength = 4096;

    /// <summary>The most bytes the pool keeps idle.</summary>
    internal const long CapacityBytes = 512L << 20;

    private static readonly Dictionary<int, Stack<float[]>> Free = [];
    private static readonly object Gate = new();
    private static long _idleBytes;

    /// <summary>Whether gradient buffers are rented and recycled (tests switch it).</summary>
    internal static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("LORAGEN_GRAD_POOL") != "0";

    /// <summary>Bytes held idle now.</summary>
    internal static long IdleBytes { get { lock (Gate) return _idleBytes; } }

    /// <summary>An array of exactly <paramref name="length"/> floats with arbitrary contents, or null when the pool does not serve that size.</summary>
    internal static float[]? Rent(int length)
    {
        if (!Enabled || length < MinLength) return null;
        lock (Gate)
        {
            if (Free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                _idleBytes -= (long)length * sizeof(float);
                return stack.Pop();
            }
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Takes back the whole array under <paramref name="storage"/> (dropped when the pool is full).</summary>
    internal static void Return(Memory<float> storage)
    {
        if (!MemoryMarshal.TryGetArray<float>(storage, out var seg) || seg.Array is not { } array || seg.Offset != 0 || array.Length < MinLength) return;
        long bytes = (long)array.Length * sizeof(float);
        lock (Gate)
        {
            if (_idleBytes + bytes > CapacityBytes) return;
            if (!Free.TryGetValue(array.Length, out var stack)) Free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
            _idleBytes += bytes;
        }
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> are views of one array.</summary>
    internal static bool SameArray(Memory<float> a, Memory<float> b) =>
        MemoryMarshal.TryGetArray<float>(a, out var x) && MemoryMarshal.TryGetArray<float>(b, out var y) && ReferenceEquals(x.Array, y.Array);

    /// <summary>Drops every idle array (for tests and for callers done training).</summary>
    internal static void Clear()
    {
        lock (Gate)
        {
            Free.Clear();
            _idleBytes = 0;
        }
    }
}
