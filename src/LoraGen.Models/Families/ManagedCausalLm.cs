using LoraGen.Generation;
using LoraGen.Nn;

namespace LoraGen.Families;

/// <summary>A managed family as an <see cref="ICausalLm"/> for the decode loop: a KV cache, batch 1, no gradients.</summary>
public sealed class ManagedCausalLm : ICausalLm
{
    private readonly CausalLmModule _model;
    private readonly KvCache _cache;

    /// <summary>Wraps <paramref name="model"/> with a cache of up to <paramref name="capacity"/> positions (default: the model's).</summary>
    public ManagedCausalLm(CausalLmModule model, int? capacity = null)
    {
        _model = model;
        _cache = model.NewCache(capacity ?? model.Config.MaxPositions);
    }

    /// <inheritdoc />
    public int VocabSize => _model.Config.VocabSize;

    /// <inheritdoc />
    public int MaxPositions => _cache.Capacity;

    /// <inheritdoc />
    public void Reset() => _cache.Clear();

    /// <inheritdoc />
    public float[] Next(ReadOnlySpan<int> tokens)
    {
        var ids = tokens.ToArray();
        return _model.ForwardLast(ids, 1, ids.Length, _cache).ToArray();
    }
}
