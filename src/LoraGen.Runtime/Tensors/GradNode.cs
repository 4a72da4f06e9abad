namespace LoraGen.Tensors;

/// <summary>
/// One recorded operation in the autograd graph: the inputs it read and how to turn the gradient of its
/// output into gradients of those inputs.
/// </summary>
public sealed class GradNode
{
    internal GradNode(string op, Tensor[] inputs, Action<Tensor> backward, object[]? saved = null)
    {
        Op = op;
        Inputs = inputs;
        BackwardFn = backward;
        Saved = saved;
    }

    /// <summary>The operation's name, e.g. <c>linear</c>.</summary>
    public string Op { get; }

    /// <summary>The tensors the operation read.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>
    /// What the backward reads besides the output gradient, as the op declared it (tensors or float arrays), or null
    /// when the op did not declare it: then every input counts as saved (see <c>LoraGen.Autograd.GraphMemory</c>).
    /// Parameters are listed too; the accounting leaves them out.
    /// </summary>
    public IReadOnlyList<object>? Saved { get; }

    /// <summary>Given d(loss)/d(output), accumulates d(loss)/d(input) into each input's gradient.</summary>
    internal Action<Tensor> BackwardFn { get; }
}
