using LoraGen.Tensors;

namespace LoraGen.Autograd;

/// <summary>
/// One recorded operation in the autograd graph: the inputs it read and how to turn the gradient of its
/// output into gradients of those inputs.
/// </summary>
public sealed class GradNode
{
    internal GradNode(string op, Tensor[] inputs, Action<Tensor> backward)
    {
        Op = op;
        Inputs = inputs;
        BackwardFn = backward;
    }

    /// <summary>The operation's name, e.g. <c>linear</c>.</summary>
    public string Op { get; }

    /// <summary>The tensors the operation read.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>Given d(loss)/d(output), accumulates d(loss)/d(input) into each input's gradient.</summary>
    internal Action<Tensor> BackwardFn { get; }
}

/// <summary>Reverse-mode automatic differentiation: recording, no-grad scopes, and the backward pass.</summary>
public static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsEnabled => _noGradDepth == 0;

    /// <summary>Disables graph recording on this thread until the returned scope is disposed.</summary>
    /// <example><code>using var _ = Autograd.NoGrad();</code></example>
    public static NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope(true);
    }

    /// <summary>The scope returned by <see cref="NoGrad"/>.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        private readonly bool _active;
        internal NoGradScope(bool active) => _active = active;

        /// <summary>Re-enables recording (if this scope disabled it).</summary>
        public void Dispose()
        {
            if (_active && _noGradDepth > 0) _noGradDepth--;
        }
    }

    /// <summary>Whether an operation over these inputs must be recorded.</summary>
    internal static bool Needs(Tensor a) => _noGradDepth == 0 && a.RequiresGrad;

    internal static bool Needs(Tensor a, Tensor b) => _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    internal static bool Needs(Tensor a, Tensor b, Tensor? c) =>
        _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad || (c?.RequiresGrad ?? false));

    internal static bool Needs(ReadOnlySpan<Tensor> inputs)
    {
        if (_noGradDepth != 0) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Marks <paramref name="output"/> as produced by <paramref name="op"/> from <paramref name="inputs"/>.</summary>
    internal static Tensor Record(Tensor output, string op, Tensor[] inputs, Action<Tensor> backward)
    {
        output.RequiresGrad = true;
        output.GradFn = new GradNode(op, inputs, backward);
        return output;
    }

    /// <summary>
    /// Computes gradients of <paramref name="root"/> with respect to every leaf that requires them,
    /// accumulating into their <see cref="Tensor.Grad"/>. The graph is released afterwards, as in PyTorch.
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null)
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

        // Topological order by iterative post-order DFS over recorded nodes.
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor t, int next)>();
        if (root.GradFn is not null) { stack.Push((root, 0)); visited.Add(root); }
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn!.Inputs;
            if (next < inputs.Count)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.GradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }

        if (root.Grad is null) root.Grad = gradient.Clone();
        else Ops.AddInPlace(root.Grad.Data, gradient.Data);

        using var _ = NoGrad();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            var node = t.GradFn!;
            var g = t.Grad;
            if (g is not null) node.BackwardFn(g);
            // Release the graph and intermediate gradients, as PyTorch does without retain_graph.
            t.GradFn = null;
            t.Grad = null;
        }
    }
}
