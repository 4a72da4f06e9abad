using LoraGen.Tensors;

namespace LoraGen.Nn;

/// <summary>
/// The keys and values a decoder has seen, per layer, for generation: caches [B, Hkv, capacity, D] filled position by
/// position. <see cref="Length"/> is the number of positions held; a model appends each layer's new keys and values
/// during a forward pass and then calls <see cref="Advance"/>.
/// </summary>
public sealed class KvCache
{
    private readonly Tensor[] _keys;
    private readonly Tensor[] _values;

    /// <summary>Creates an empty cache for <paramref name="layers"/> layers.</summary>
    public KvCache(int layers, int batch, int kvHeads, int capacity, int headDim)
    {
        if (layers < 1 || batch < 1 || kvHeads < 1 || capacity < 1 || headDim < 1) throw new ArgumentException("KvCache: every size must be positive.");
        _keys = new Tensor[layers];
        _values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _keys[i] = Tensor.Zeros(batch, kvHeads, capacity, headDim);
            _values[i] = Tensor.Zeros(batch, kvHeads, capacity, headDim);
        }
        Capacity = capacity;
    }

    /// <summary>The most positions the cache holds.</summary>
    public int Capacity { get; }

    /// <summary>The positions held.</summary>
    public int Length { get; private set; }

    /// <summary>Layer <paramref name="layer"/>'s key cache [B, Hkv, capacity, D].</summary>
    public Tensor Keys(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s value cache [B, Hkv, capacity, D].</summary>
    public Tensor Values(int layer) => _values[layer];

    /// <summary>Writes k, v [B, Hkv, T, D] of layer <paramref name="layer"/> at positions Length..Length+T−1.</summary>
    public void Write(int layer, Tensor k, Tensor v)
    {
        var kc = _keys[layer];
        int b = kc.Dim(0), h = kc.Dim(1), d = kc.Dim(3), t = k.Dim(2);
        if (k.Rank != 4 || k.Dim(0) != b || k.Dim(1) != h || k.Dim(3) != d || v.Shape.SequenceEqual(k.Shape) == false)
            throw new ShapeMismatchException("kv cache", "cache", kc.shape, "k", k.shape, "batch, heads and head width must match the cache.");
        if (Length + t > Capacity) throw new InvalidOperationException($"kv cache: {Length} + {t} positions exceed the capacity {Capacity}.");
        for (int i = 0; i < b * h; i++)
        {
            k.Data.Slice(i * t * d, t * d).CopyTo(kc.Data.Slice((i * Capacity + Length) * d, t * d));
            v.Data.Slice(i * t * d, t * d).CopyTo(_values[layer].Data.Slice((i * Capacity + Length) * d, t * d));
        }
    }

    /// <summary>Marks <paramref name="positions"/> more positions as held (after every layer wrote them).</summary>
    public void Advance(int positions)
    {
        if (positions < 0 || Length + positions > Capacity) throw new ArgumentOutOfRangeException(nameof(positions));
        Length += positions;
    }

    /// <summary>Forgets every position (a new sequence).</summary>
    public void Clear() => Length = 0;
}
