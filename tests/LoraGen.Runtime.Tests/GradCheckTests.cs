using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>
/// Finite-difference gradient checks: for loss = Σ f(inputs) ⊙ R with a fixed random R, every analytic gradient
/// element is compared with the central difference (L(x+ε) − L(x−ε)) / 2ε, computed in double from float outputs.
/// </summary>
public class GradCheckTests
{
    internal static Tensor Input(Rng rng, params int[] shape)
    {
        // Values bounded away from 0 so the ReLU kink is never inside the finite-difference step.
        var t = Tensor.Empty(shape);
        for (int i = 0; i < t.Size; i++)
        {
            float v = rng.NextNormal();
            t.Data[i] = MathF.CopySign(0.15f + MathF.Abs(v), v);
        }
        return t;
    }

    internal static void GradCheck(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var rng = new Rng(99);
        Tensor y0;
        using (GradMode.NoGrad()) y0 = f(inputs);
        var r = Tensor.Randn(rng, 1f, y0.Shape.ToArray());
        double Loss()
        {
            using var _ = GradMode.NoGrad();
            var y = f(inputs);
            double s = 0;
            for (int i = 0; i < y.Size; i++) s += (double)y.Data[i] * r.Data[i];
            return s;
        }

        foreach (var x in inputs) { x.RequiresGrad = true; x.Grad = null; }
        var yg = f(inputs);
        yg.Backward(r.Clone());
        const float eps = 1e-2f;
        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            Assert.NotNull(x.Grad);
            double scale = 0;
            foreach (var g in x.Grad!.Data) scale = Math.Max(scale, Math.Abs(g));
            for (int i = 0; i < x.Size; i++)
            {
                float orig = x.Data[i];
                x.Data[i] = orig + eps; double lp = Loss();
                x.Data[i] = orig - eps; double lm = Loss();
                x.Data[i] = orig;
                double numeric = (lp - lm) / (2 * eps);
                double analytic = x.Grad.Data[i];
                double tol = 2e-2 * Math.Max(1.0, scale);
                Assert.True(Math.Abs(numeric - analytic) <= tol,
                    $"input {k} element {i}: analytic {analytic:G6}, numeric {numeric:G6} (tol {tol:G3})");
            }
        }
    }

    private static readonly Rng R = new(7);

    [Fact] public void MatMul() => GradCheck(x => x[0].MatMul(x[1]), Input(R, 2, 3, 4), Input(R, 2, 4, 5));
    [Fact] public void MatMulTransposes() => GradCheck(x => x[0].MatMul(x[1], transA: true, transB: true), Input(R, 2, 4, 3), Input(R, 2, 5, 4));
    [Fact] public void MatMulShared() => GradCheck(x => x[0].MatMul(x[1], transA: true), Input(R, 2, 4, 3), Input(R, 4, 5));
    [Fact] public void Linear() => GradCheck(x => x[0].Linear(x[1], x[2]), Input(R, 3, 5), Input(R, 4, 5), Input(R, 4));
    [Fact] public void AddSubMul() => GradCheck(x => (x[0] + x[1]) * x[2] - x[1], Input(R, 2, 3), Input(R, 3), Input(R, 2, 3));
    [Fact] public void SumMeanScale() => GradCheck(x => x[0].Scale(3f).Sum() * x[1].Mean(), Input(R, 2, 3), Input(R, 1));
    [Fact] public void SumLastDim() => GradCheck(x => x[0].SumLastDim(), Input(R, 2, 3, 4));
    [Fact] public void Relu() => GradCheck(x => x[0].Relu(), Input(R, 3, 7));
    [Fact] public void Gelu() => GradCheck(x => x[0].Gelu(), Input(R, 3, 7));
    [Fact] public void GeluTanh() => GradCheck(x => x[0].Gelu(GeluApproximation.Tanh), Input(R, 3, 7));
    [Fact] public void GeluTanhVectorWidthsAndTail() => GradCheck(x => x[0].Gelu(GeluApproximation.Tanh), Input(R, 5, 9));
    [Fact] public void Silu() => GradCheck(x => x[0].Silu(), Input(R, 3, 7));
    [Fact] public void Softmax() => GradCheck(x => x[0].Softmax(), Input(R, 3, 6));
    [Fact] public void LogSoftmax() => GradCheck(x => x[0].LogSoftmax(), Input(R, 3, 6));
    [Fact] public void LayerNorm() => GradCheck(x => x[0].LayerNorm(x[1], x[2]), Input(R, 4, 6), Input(R, 6), Input(R, 6));
    [Fact] public void RmsNorm() => GradCheck(x => x[0].RmsNorm(x[1]), Input(R, 4, 6), Input(R, 6));
    [Fact] public void Embedding() => GradCheck(x => EmbeddingOps.Embedding(x[0], [2, 0, 2, 3], 2, 2), Input(R, 4, 3));
    [Fact] public void CrossEntropy() => GradCheck(x => x[0].CrossEntropy([1, -100, 4, 0]), Input(R, 4, 5));
    [Fact] public void Dropout() => GradCheck(x => x[0].Dropout(0.5f, new Rng(5)), Input(R, 3, 8));
    [Fact] public void ReshapeTransposePermute() => GradCheck(x => x[0].Reshape(2, 3, 4).Transpose(0, 2).Permute(1, 0, 2), Input(R, 6, 4));
    [Fact] public void ConcatSplit() => GradCheck(x =>
    {
        var parts = ShapeOps.Concat([x[0], x[1]], 0).Split([1, 4], 0);
        return parts[1] * parts[1];
    }, Input(R, 2, 3), Input(R, 3, 3));
    [Fact] public void CausalAttentionAcrossRowBlocks() => GradCheck(x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2]), Input(R, 1, 1, 40, 2), Input(R, 1, 1, 40, 2), Input(R, 1, 1, 40, 2));
    [Fact] public void MultiHeadAttentionAcrossRowBlocks() => GradCheck(x => AttentionOps.MultiHeadAttention(x[0], x[1], x[2], heads: 2), Input(R, 1, 35, 6), Input(R, 1, 35, 6), Input(R, 1, 35, 6));
    [Fact] public void MultiHeadAttentionNonCausalOddHeads() => GradCheck(x => AttentionOps.MultiHeadAttention(x[0], x[1], x[2], heads: 3, causal: false), Input(R, 2, 5, 9), Input(R, 2, 5, 9), Input(R, 2, 5, 9));
    [Fact] public void MultiHeadAttentionSharedQk() => GradCheck(x => AttentionOps.MultiHeadAttention(x[0], x[0], x[1], heads: 1), Input(R, 1, 6, 4), Input(R, 1, 6, 4));
    [Fact] public void CausalAttention() => GradCheck(x => AttentionOps.ScaledDotProductAttention(x[0], x[1], x[2]), Input(R, 1, 2, 5, 3), Input(R, 1, 2, 5, 3), Input(R, 1, 2, 5, 3));
}
