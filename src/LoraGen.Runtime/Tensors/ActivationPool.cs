namespace LoraGen.Tensors;

/// <summary>
/// Recycles the storage of the tensors that ops create (their outputs and scratch), so that after warm-up a forward
/// or a training step stops allocating large arrays. At TinyGpt's sizes nearly every output is above .NET's
/// 85,000-byte large-object threshold; allocating them fresh costs a full (gen-2) collection every few ops and a page
/// fault on every fresh page, which made a batch-1 forward twice as slow as its arithmetic.
/// </summary>
/// <remarks>
/// <para>
/// Ownership: a rented array is lent to exactly one <see cref="PooledStorage"/> (the lease). Every tensor, reshape
/// view and <see cref="Memory{T}"/> over the storage refers to that lease, so the array is in use exactly as long as
/// the lease is reachable — nobody has to return anything, and a tensor the caller keeps (the logits, the loss, a
/// parameter made with <see cref="Tensor.Empty"/>) is never recycled under it. The pool holds its arrays strongly and
/// each lease weakly; a lease the GC has found unreachable frees its array for the next rent of that exact length.
/// </para>
/// <para>
/// So that dead leases are found, a rent that finds no free array of its length collects (one blocking,
/// non-compacting collection) and looks again before it allocates, when a backward pass has ended since the last
/// collection (a backward releases its graph, so the step's activations are garbage) or when the pool has lent more
/// than <see cref="CollectBudgetBytes"/> (or half of what it holds, if more) since then. A training step's garbage is then
/// found once per step or so instead of once every few ops, and the arrays stay committed and warm in cache. Arrays
/// that stay free over several such collections are dropped (left to the GC), so sizes a program no longer uses do
/// not stay resident.
/// </para>
/// <para>
/// The one rule this puts on kernel code: a <see cref="Span{T}"/> taken from a tensor is valid while the tensor (or
/// its storage) is reachable — keep the tensor referenced while using its span, as every op in this runtime does
/// (they read their inputs' spans and then still consult the inputs). <c>LORAGEN_ACTIVATION_POOL=0</c> turns the
/// pool off; <c>=stress</c> pools every size and collects on every rent, which makes a violation of that rule show up in tests.
/// </para>
/// </remarks>
internal static class ActivationPool
{
    /// <summary>Arrays of fewer floats (16 KB) are left to the GC: gen-0 handles them cheaply, and a pool lookup would cost more.</summary>
    internal const int MinLength = 4096;

    /// <summary>How much the pool lends, at least, between two of its collections (unless a backward pass ended).</summary>
    internal const long CollectBudgetBytes = 64L << 20;

    /// <summary>
    /// A free array survives this many of the pool's collections without being lent before it is dropped: a step may
    /// run several collections, and an array of a size the step uses once must still be there the next step.
    /// </summary>
    internal const int IdleCollectionsKept = 4;

    private sealed class Slot
    {
        public Slot(int length)
        {
            (Array, Offset) = AlignedStorage.Allocate(length);   // starts on a cache line, pinned
            Length = length;
        }

        public readonly float[] Array;
        public readonly int Offset, Length;
        public readonly WeakReference<PooledStorage> Lease = new(null!);
        public int IdleCollections;
    }

    private static readonly Dictionary<int, List<Slot>> Slots = [];
    private static readonly Lock Gate = new();
    private static long _heldBytes, _lentSinceCollect;
    private static bool _collectPending;

    private static readonly string? Mode = Environment.GetEnvironmentVariable("LORAGEN_ACTIVATION_POOL");

    /// <summary>Whether tensor storage is pooled (tests switch it).</summary>
    internal static bool Enabled { get; set; } = Mode != "0";

    /// <summary>
    /// Pool every size and collect before every rent, so that a span used after its tensor became unreachable reads
    /// recycled data (tests).
    /// </summary>
    internal static bool Stress { get; set; } = Mode == "stress";

    /// <summary>
    /// Storage of exactly <paramref name="length"/> floats with arbitrary contents, leased to the returned memory's
    /// owner, or null when the pool does not serve that length (the caller then allocates).
    /// </summary>
    internal static Memory<float>? Rent(int length)
    {
        if (!Enabled || length < (Stress ? 1 : MinLength)) return null;
        lock (Gate)
        {
            if (!Slots.TryGetValue(length, out var slots)) Slots[length] = slots = [];
            if (Stress) Collect();
            if (Lease(slots) is { } hit) return hit;
            long bytes = (long)length * sizeof(float);
            // Collect rather than grow when what was lent since the last collection is probably garbage by now: fresh
            // memory costs a page fault per 4 KB on first touch (about 450 µs for 128 KB on a VM), reuse costs nothing.
            if (_collectPending || _lentSinceCollect + bytes > Math.Max(CollectBudgetBytes, _heldBytes / 2))
            {
                Collect();
                if (Lease(slots) is { } found) return found;
            }
            var slot = new Slot(length);
            slots.Add(slot);
            _heldBytes += bytes;
            return Lend(slot);
        }
    }

    /// <summary>A free slot of the list, lent out; null when every array is still leased.</summary>
    private static Memory<float>? Lease(List<Slot> slots)
    {
        foreach (var slot in slots)
            if (!slot.Lease.TryGetTarget(out _)) return Lend(slot);
        return null;
    }

    private static Memory<float> Lend(Slot slot)
    {
        var lease = new PooledStorage(slot.Array, slot.Offset, slot.Length);
        slot.Lease.SetTarget(lease);
        slot.IdleCollections = 0;
        _lentSinceCollect += (long)slot.Length * sizeof(float);
        return lease.Memory;
    }

    /// <summary>Finds the dead leases (one blocking, non-compacting collection) and drops the arrays idle for too long.</summary>
    private static void Collect()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        _collectPending = false;
        _lentSinceCollect = 0;
        foreach (var slots in Slots.Values)
        {
            for (int i = slots.Count - 1; i >= 0; i--)
            {
                var slot = slots[i];
                if (slot.Lease.TryGetTarget(out _)) slot.IdleCollections = 0;
                else if (++slot.IdleCollections > IdleCollectionsKept)
                {
                    slots.RemoveAt(i);
                    _heldBytes -= (long)slot.Length * sizeof(float);
                }
            }
        }
    }

    /// <summary>
    /// Says that a recorded graph was just released (the end of a backward pass): the step's activations are garbage
    /// now, so the next rent that finds no free array collects at once instead of growing the pool first.
    /// </summary>
    internal static void GraphReleased()
    {
        if (Enabled) lock (Gate) _collectPending = true;
    }

    /// <summary>Runs the pool's collection now (tests).</summary>
    internal static void CollectNow()
    {
        lock (Gate) Collect();
    }

    /// <summary>How many arrays of <paramref name="length"/> floats the pool holds, lent or free (tests).</summary>
    internal static int SlotCount(int length)
    {
        lock (Gate) return Slots.TryGetValue(length, out var slots) ? slots.Count : 0;
    }
}
