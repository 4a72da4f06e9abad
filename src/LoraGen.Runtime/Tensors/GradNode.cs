namespace LoraGen.Tensors;

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
