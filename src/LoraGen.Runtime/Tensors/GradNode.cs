namespace LoraGen.Tensors;

/// <summary>
/// One recorded operation in the autograd graph: the inputs it read and how to turn the gradient of its
/// output into gradients of those inputs.
/// </summary>
/// <remarks>
/// A node points at its inputs' autograd identities (<see cref="GradVertex"/>), not at the tensors: it pins an input's
/// values only when its backward reads them (those are in <see cref="Saved"/>), so the forward's intermediate tensors
/// that no backward reads are freed as soon as the forward code drops them.
/// </remarks>
public sealed class GradNode
{
    internal GradNode(string op, GradVertex[] inputs, Action<Tensor> backward, object[] saved)
    {
        Op = op;
        Inputs = inputs;
        BackwardFn = backward;
        Saved = saved;
    }

    /// <summary>The operation's name, e.g. <c>linear</c>.</summary>
    public string Op { get; }

    /// <summary>The number of tensors the operation read.</summary>
    public int InputCount => Inputs.Length;

    /// <summary>The autograd identities of the tensors the operation read, in order.</summary>
    internal GradVertex[] Inputs { get; }

    /// <summary>
    /// What the backward reads besides the output gradient (tensors or float arrays): what the op declared, or — for an
    /// op that declared nothing — its input tensors, which the node then keeps (see <c>LoraGen.Autograd.GraphMemory</c>).
    /// Parameters are listed too; the accounting leaves them out.
    /// </summary>
    public IReadOnlyList<object> Saved { get; }

    /// <summary>Given d(loss)/d(output), accumulates d(loss)/d(input) into each input's gradient.</summary>
    internal Action<Tensor> BackwardFn { get; }
}
