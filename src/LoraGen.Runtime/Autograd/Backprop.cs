using LoraGen.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace LoraGen.Autograd;

/// <summary>Reverse-mode automatic differentiation: recording an operation, and the backward pass over the recorded graph.</summary>
public static class Backprop
{
    /// <summary>
    /// Marks <paramref name="output"/> as produced by <paramref name="op"/> from <paramref name="inputs"/>.
    /// <paramref name="saved"/> declares what <paramref name="backward"/> reads (tensors or float arrays), for the
    /// memory accounting (<see cref="GraphMemory"/>); null means every input, and the node then keeps the input tensors.
    /// The node itself refers to its inputs by their <see cref="GradVertex"/> only: a backward that declares what it
    /// reads should capture just that (and the inputs' vertices for their gradients), so that the rest is freed once
    /// the forward drops it. Beware of C# closures: every lambda of a method shares one closure object, so a forward
    /// lambda that captures a tensor pins it for the backward too; record from a separate method then.
    /// </summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, Action<Tensor> backward, object[]? saved = null)
    {
        var vertices = new GradVertex[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) vertices[i] = inputs[i].Vertex;
        output.RequiresGrad = true;
        output.GradFn = new GradNode(op, vertices, backward, saved ?? inputs);
        return output;
    }

    /// <summary>
    /// Computes gradients of <paramref name="root"/> with respect to every leaf that requires them,
    /// accumulating into their <see cref="Tensor.Grad"/>. The graph is released afterwards, as in PyTorch.
    /// </summary>
    public static void Backward(this Tensor root, Tensor? gradient = null)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require grad (no parameter it depends on requires grad, or it was computed under NoGrad).");
        if (gradient is null)
        {
            if (root.Size != 1)
                throw new InvalidOperationException($"Backward: a gradient must be given for a non-scalar output (shape {root.ShapeString}).");
            gradient = Tensor.Ones(root.shape);
        }
        else ShapeMismatchException.ThrowIfNotEqual("backward", root, gradient, "output", "gradient");

        // Topological order by iterative post-order DFS over recorded nodes (vertices: the graph holds no tensor values).
        var top = root.Vertex;
        var order = new List<GradVertex>();
        var visited = new HashSet<GradVertex>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(GradVertex t, int next)>();
        if (top.GradFn is not null) { stack.Push((top, 0)); visited.Add(top); }
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.GradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }

        if (top.Grad is null)
        {
            top.Grad = top.RentGradient();
            gradient.Data.CopyTo(top.Grad.Data);
        }
        else TensorPrimitives.Add(top.Grad.Data, gradient.Data, top.Grad.Data);

        using var _ = GradMode.NoGrad();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            var node = t.GradFn!;
            var g = t.Grad;
            if (g is not null)
            {
                using var scope = OpProfiler.Backward(node.Op);
                node.BackwardFn(g);
            }
            // Release the graph and intermediate gradients, as PyTorch does without retain_graph. A rented gradient
            // goes back to the pool unless the backward gave its storage to an input (hand-off).
            t.GradFn = null;
            t.Grad = null;
            if (g is { IsPooledGradient: true } && !HandedOff(g, node.Inputs)) GradPool.Return(g.Storage);
        }
        ActivationPool.GraphReleased();
        OpProfiler.StepEnded();
    }

    private static bool HandedOff(Tensor g, GradVertex[] inputs)
    {
        foreach (var x in inputs)
            if (x.Grad is { } xg && GradPool.SameArray(xg.Storage, g.Storage)) return true;
        return false;
    }
}
