using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>Bad shapes throw <see cref="ShapeMismatchException"/> naming the op and both shapes.</summary>
public class ShapeErrorTests
{
    private static void AssertMessage(Action act, string op, string left, string right)
    {
        var ex = Assert.Throws<ShapeMismatchException>(act);
        Assert.Equal(op, ex.Op);
        Assert.StartsWith(op + ":", ex.Message);
        Assert.Contains(left, ex.Message);
        Assert.Contains(right, ex.Message);
    }

    [Fact] public void Linear() => AssertMessage(() => Tensor.Zeros(2, 3).Linear(Tensor.Zeros(4, 5)), "linear", "[2, 3]", "[4, 5]");
    [Fact] public void MatMulInner() => AssertMessage(() => Tensor.Zeros(2, 3).MatMul(Tensor.Zeros(4, 5)), "matmul", "[2, 3]", "[4, 5]");
    [Fact] public void MatMulBatch() => AssertMessage(() => Tensor.Zeros(2, 2, 3).MatMul(Tensor.Zeros(3, 3, 5)), "matmul", "[2, 2, 3]", "[3, 3, 5]");
    [Fact] public void AddBroadcast() => AssertMessage(() => _ = Tensor.Zeros(2, 3) + Tensor.Zeros(2), "add", "[2, 3]", "[2]");
    [Fact] public void MulBroadcast() => AssertMessage(() => _ = Tensor.Zeros(2, 3) * Tensor.Zeros(3, 3), "mul", "[2, 3]", "[3, 3]");
    [Fact] public void LayerNorm() => AssertMessage(() => Tensor.Zeros(2, 3).LayerNorm(Tensor.Zeros(4), null), "layer_norm", "[2, 3]", "[4]");
    [Fact] public void Reshape() => AssertMessage(() => Tensor.Zeros(2, 3).Reshape(4, -1), "reshape", "[2, 3]", "[4, -1]");
    [Fact] public void Concat() => AssertMessage(() => ShapeOps.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(3, 4)], 0), "concat", "[2, 3]", "[3, 4]");
    [Fact] public void Attention() => AssertMessage(() => AttentionOps.ScaledDotProductAttention(Tensor.Zeros(1, 1, 2, 3), Tensor.Zeros(1, 1, 2, 4), Tensor.Zeros(1, 1, 2, 3)), "attention", "[1, 1, 2, 3]", "[1, 1, 2, 4]");

    [Fact] public void MultiHeadAttention() => AssertMessage(() => AttentionOps.MultiHeadAttention(Tensor.Zeros(1, 2, 6), Tensor.Zeros(1, 3, 6), Tensor.Zeros(1, 2, 6), 2), "multi_head_attention", "[1, 2, 6]", "[1, 3, 6]");

    [Fact]
    public void MultiHeadAttentionHeadsMustDivideChannels()
    {
        var ex = Assert.Throws<ArgumentException>(() => AttentionOps.MultiHeadAttention(Tensor.Zeros(1, 2, 6), Tensor.Zeros(1, 2, 6), Tensor.Zeros(1, 2, 6), 4));
        Assert.Contains("4 heads", ex.Message);
        Assert.Contains("[1, 2, 6]", ex.Message);
    }

    [Fact]
    public void EmbeddingIdOutOfRangeNamesTheId()
    {
        var ex = Assert.Throws<IndexOutOfRangeException>(() => EmbeddingOps.Embedding(Tensor.Zeros(5, 2), [1, 7], 2));
        Assert.Contains("id 7", ex.Message);
        Assert.Contains("5 rows", ex.Message);
    }
}
