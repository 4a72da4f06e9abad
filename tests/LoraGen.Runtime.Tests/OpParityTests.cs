using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// Every op against PyTorch (float64 references from Fixtures/make_fixtures.py): the output, and the
/// gradients of every input for a random upstream gradient. Tolerance 1e-5 relative, 1e-4 for long reductions.
/// </summary>
public class OpParityTests
{
    private const float Tol = 1e-5f, LongTol = 1e-4f;

    private static void Check(string name, Func<Tensor[], Tensor> op, float tol = Tol)
    {
        var inputs = new List<Tensor>();
        for (int i = 0; TestUtil.OpsFixture.Contains($"{name}.in{i}"); i++)
        {
            var t = TestUtil.Load($"{name}.in{i}");
            t.RequiresGrad = true;
            inputs.Add(t);
        }
        Assert.NotEmpty(inputs);
        var y = op(inputs.ToArray());
        TestUtil.AssertClose(TestUtil.Load($"{name}.out"), y, tol, $"{name} output");
        y.Backward(TestUtil.Load($"{name}.gout").Reshape(y.Shape.ToArray()));
        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.NotNull(inputs[i].Grad);
            TestUtil.AssertClose(TestUtil.Load($"{name}.grad{i}"), inputs[i].Grad!, tol, $"{name} grad of input {i}");
        }
    }

    [Fact] public void MatMul() => Check("matmul", x => x[0].MatMul(x[1]));
    [Fact] public void MatMulTransposedA() => Check("matmul_ta", x => x[0].MatMul(x[1], transA: true));
    [Fact] public void MatMulTransposedB() => Check("matmul_tb", x => x[0].MatMul(x[1], transB: true));
    [Fact] public void MatMulShared2D() => Check("matmul_shared", x => x[0].MatMul(x[1]));
    [Fact] public void MatMulShared2DTransposedB() => Check("matmul_shared_tb", x => x[0].MatMul(x[1], transB: true));
    [Fact] public void MatMulLongReduction() => Check("matmul_long", x => x[0].MatMul(x[1]), LongTol);
    [Fact] public void Linear() => Check("linear", x => x[0].Linear(x[1], x[2]));
    [Fact] public void LinearNoBias() => Check("linear_nobias", x => x[0].Linear(x[1]));
    [Fact] public void LinearAcrossBlockEdges() => Check("linear_big", x => x[0].Linear(x[1], x[2]), LongTol);
    [Fact] public void AddBroadcast() => Check("add", x => x[0] + x[1]);
    [Fact] public void SubBroadcast() => Check("sub", x => x[0] - x[1]);
    [Fact] public void MulBroadcast() => Check("mul", x => x[0] * x[1]);
    [Fact] public void MulSameShape() => Check("mul_same", x => x[0] * x[1]);
    [Fact] public void Scale() => Check("scale", x => x[0] * 0.37f);
    [Fact] public void Sum() => Check("sum", x => x[0].Sum());
    [Fact] public void Mean() => Check("mean", x => x[0].Mean());
    [Fact] public void SumLong() => Check("sum_long", x => x[0].Sum(), LongTol);
    [Fact] public void SumLastDim() => Check("sum_last", x => x[0].SumLastDim());
    [Fact] public void Relu() => Check("relu", x => x[0].Relu());
    [Fact] public void GeluExact() => Check("gelu", x => x[0].Gelu());
    [Fact] public void GeluTanh() => Check("gelu_tanh", x => x[0].Gelu(GeluApproximation.Tanh));
    [Fact] public void GeluTanhVectorWidthsAndTail() => Check("gelu_tanh_wide", x => x[0].Gelu(GeluApproximation.Tanh));
    [Fact] public void Silu() => Check("silu", x => x[0].Silu());
    [Fact] public void Softmax() => Check("softmax", x => x[0].Softmax());
    [Fact] public void LogSoftmax() => Check("log_softmax", x => x[0].LogSoftmax());
    [Fact] public void LayerNorm() => Check("layer_norm", x => x[0].LayerNorm(x[1], x[2]));
    [Fact] public void LayerNormNoBias() => Check("layer_norm_nobias", x => x[0].LayerNorm(x[1], null));
    [Fact] public void RmsNorm() => Check("rms_norm", x => x[0].RmsNorm(x[1]));
    [Fact] public void Embedding() => Check("embedding", x => EmbeddingOps.Embedding(x[0], TestUtil.LoadInts("embedding.ids"), 2, 4));
    [Fact] public void CrossEntropyWithIgnoreIndex() => Check("cross_entropy", x => x[0].CrossEntropy(TestUtil.LoadInts("cross_entropy.targets")));
    [Fact] public void CrossEntropyOver3D() => Check("cross_entropy_3d", x => x[0].CrossEntropy(TestUtil.LoadInts("cross_entropy_3d.targets")));
    [Fact] public void DropoutWithGivenMask() => Check("dropout", x => DropoutOps.ApplyMask(x[0], TestUtil.Load("dropout.mask").ToArray()));
    [Fact] public void Reshape() => Check("reshape", x => x[0].Reshape(6, -1) * Tensor.FromArray(Enumerable.Range(0, 24).Select(i => (float)i).ToArray(), 6, 4));
    [Fact] public void Transpose() => Check("transpose", x => x[0].Transpose(1, 2));
    [Fact] public void Permute4D() => Check("permute", x => x[0].Permute(0, 2, 3, 1));
    [Fact] public void Permute3D() => Check("permute3", x => x[0].Permute(2, 0, 1));
    [Fact] public void Concat() => Check("concat", x => ShapeOps.Concat([x[0], x[1]], 1));
    [Fact] public void Split() => Check("split", x =>
    {
        var parts = x[0].Split([2, 3], 1);
        return ShapeOps.Concat([parts[0] * 1f, parts[1] * 2f], 1);
    });
    [Fact] public void CausalAttention() => Check("attention", x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2]));
    [Fact] public void CausalAttentionAcrossRowBlocks() => Check("attention_long", x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2]));
    [Fact] public void FullAttention() => Check("attention_full", x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2], causal: false));
    [Fact] public void MultiHeadAttentionOddSizes() => Check("mha", x => AttentionOps.MultiHeadAttention(x[0], x[1], x[2], heads: 3));
    [Fact] public void MultiHeadAttentionFull() => Check("mha_full", x => AttentionOps.MultiHeadAttention(x[0], x[1], x[2], heads: 2, causal: false));
    [Fact] public void MultiHeadSelfAttentionOneTensor() => Check("mha_self", x => AttentionOps.MultiHeadAttention(x[0], x[0], x[0], heads: 2));
}
