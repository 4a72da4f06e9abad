namespace LoraGen.Tensors;

/// <summary>
/// The autograd identity of a tensor, without its values: whether gradients flow into it, the node that made it, and
/// its accumulated gradient. Graph nodes point at their inputs' vertices, not at the tensors, so the recorded graph
/// pins a tensor's storage only when a backward function reads its values (and then captures the tensor itself).
/// A frozen Linear's input, a residual sum, a GELU output feeding a frozen projection: once the forward code drops
/// them, the GC frees them, as PyTorch frees a tensor no node saved. Created on first use (see
/// <see cref="Tensor.Vertex"/>); a view (reshape) is a tensor of its own with its own vertex.
/// </summary>
internal sealed class GradVertex
{
    private readonly int[] _shape;

    internal GradVertex(int[] shape, int size)
    {
        _shape = shape;
        Size = size;
    }

    /// <summary>The number of elements of the tensor (and of its gradient).</summary>
    internal int Size { get; }

    /// <summary>The tensor's shape (shared, never written).</summary>
    internal ReadOnlySpan<int> Shape => _shape;

    /// <summary>See <see cref="Tensor.RequiresGrad"/>.</summary>
    internal bool RequiresGrad { get; set; }

    /// <summary>See <see cref="Tensor.Grad"/>.</summary>
    internal Tensor? Grad { get; set; }

    /// <summary>See <see cref="Tensor.GradFn"/>.</summary>
    internal GradNode? GradFn { get; set; }

    /// <summary>
    /// The gradient buffer for accumulation, allocated on first use. When <paramref name="fresh"/> is true the
    /// buffer is uninitialized and the caller must overwrite every element; otherwise the caller must add.
    /// </summary>
    internal Tensor GradBuffer(out bool fresh)
    {
        if (Grad is null)
        {
            Grad = RentGradient();
            fresh = true;
        }
        else fresh = false;
        return Grad;
    }

    /// <summary>
    /// Adds <paramref name="g"/> (same number of elements) into the gradient. With no gradient yet, a copy of
    /// <paramref name="g"/> becomes it, or — when <paramref name="take"/> says the caller owns g and drops it after
    /// this call — g's storage itself, viewed in this tensor's shape (no allocation, no copy). A backward function may
    /// give its output gradient away to at most one input: <c>Backprop</c> releases that gradient right after the call.
    /// </summary>
    internal void AccumulateGrad(Tensor g, bool take)
    {
        if (Grad is null)
        {
            if (take) Grad = Tensor.PooledView(g, _shape);
            else
            {
                Grad = RentGradient();
                g.Data.CopyTo(Grad.Data);
            }
        }
        else System.Numerics.Tensors.TensorPrimitives.Add(Grad.Data, g.Data, Grad.Data);
    }

    /// <summary>The gradient buffer for accumulation, zero-filled on first use.</summary>
    internal Span<float> GradZeroed()
    {
        if (Grad is null)
        {
            Grad = RentGradient();
            Grad.Data.Clear();
        }
        return Grad.Data;
    }

    /// <summary>An uninitialized gradient buffer of this tensor's shape, from <see cref="GradPool"/> when it serves the size.</summary>
    internal Tensor RentGradient() => Tensor.RentGradient(_shape, Size);
}
