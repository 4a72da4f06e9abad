namespace LoraGen.Tensors;

/// <summary>
/// Thrown when the shapes given to an operation do not fit together. The message names the operation
/// and both shapes, e.g. <c>linear: x [2, 3] and weight [4, 5] do not fit: ...</c>.
/// </summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public ShapeMismatchException(string op, string leftName, int[] left, string rightName, int[] right, string detail)
        : base($"{op}: {leftName} {Tensor.Format(left)} and {rightName} {Tensor.Format(right)} do not fit: {detail}")
    {
        Op = op;
        LeftShape = left;
        RightShape = right;
    }

    /// <summary>The operation that rejected the shapes.</summary>
    public string Op { get; }

    /// <summary>The first shape involved.</summary>
    public int[] LeftShape { get; }

    /// <summary>The second shape involved.</summary>
    public int[] RightShape { get; }

    internal static void ThrowIfNotEqual(string op, Tensor a, Tensor b, string aName = "a", string bName = "b")
    {
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ShapeMismatchException(op, aName, a.shape, bName, b.shape, "the shapes must be equal.");
    }
}
