using System.Runtime.InteropServices;
using LoraGen.Tensors;

namespace LoraGen.Autograd;

/// <summary>
/// What a recorded autograd graph keeps in memory for the backward pass, measured from the actual tensors and arrays
/// (each storage counted once, however many nodes or views share it; parameters left out).
/// </summary>
/// <param name="SavedForBackwardBytes">
/// The bytes the backward functions read besides the output gradients, as each op declared them
/// (<see cref="GradNode.Saved"/>; an op that declared nothing counts all its inputs) — PyTorch's <c>saved_tensors</c>.
/// This is the figure the activation formulas speak of: for a LoRA layer (d₂ + r)·n floats, for LoRA-FA r·n.
/// </param>
/// <param name="HeldByGraphBytes">
/// The bytes the graph pins: the saved items and the root. Nodes refer to their inputs by autograd identity
/// (<see cref="GradVertex"/>), not by tensor, so an intermediate no backward reads is not held by the graph (it is
/// freed once the forward code drops it); this differs from <paramref name="SavedForBackwardBytes"/> only by the root.
/// </param>
/// <param name="Nodes">The number of recorded operations.</param>
public sealed record GraphMemory(long SavedForBackwardBytes, long HeldByGraphBytes, int Nodes)
{
    /// <summary>Measures the graph that produced <paramref name="root"/> (before <c>Backward</c> releases it).</summary>
    /// <param name="root">The output of the forward pass, e.g. the loss.</param>
    /// <param name="parameters">Tensors not to count (the model's parameters: they are counted as weights).</param>
    public static GraphMemory Measure(Tensor root, IEnumerable<Tensor>? parameters = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        var excluded = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters ?? []) excluded.Add(Key(p).Key);
        var saved = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var held = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<GradVertex>(ReferenceEqualityComparer.Instance);
        long savedBytes = 0, heldBytes = 0;
        int nodes = 0;

        void Count(object item, HashSet<object> set, ref long total)
        {
            var (key, bytes) = item switch
            {
                Tensor t => Key(t),
                float[] a => (a, 4L * a.Length),
                Array a => (a, (long)Buffer.ByteLength(a)),
                _ => (item, 0L),
            };
            if (!excluded.Contains(key) && set.Add(key)) total += bytes;
        }

        Count(root, held, ref heldBytes);
        var stack = new Stack<GradVertex>();
        stack.Push(root.Vertex);
        seen.Add(root.Vertex);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (v.GradFn is not { } node) continue;
            nodes++;
            foreach (var item in node.Saved)
            {
                Count(item, saved, ref savedBytes);
                Count(item, held, ref heldBytes);
            }
            foreach (var input in node.Inputs)
                if (seen.Add(input)) stack.Push(input);
        }
        return new GraphMemory(savedBytes, heldBytes, nodes);
    }

    /// <summary>The identity of a tensor's storage (its array, shared by views) and that storage's bytes.</summary>
    private static (object Key, long Bytes) Key(Tensor t) =>
        MemoryMarshal.TryGetArray<float>(t.Storage, out var segment) && segment.Array is { } array
            ? (array, 4L * array.Length)
            : (t, 4L * t.Size);
}
