using LoraGen.Tensors;

namespace LoraGen.Ops;

/// <summary>The arithmetic operators on <see cref="Tensor"/>, recorded for autograd like the named operations.</summary>
public static class TensorOperators
{
    extension(Tensor)
    {
        /// <summary>Element-wise sum; b is broadcast over a's leading dimensions (see <see cref="ElementwiseOps.Add"/>).</summary>
        public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

        /// <summary>Element-wise difference; b is broadcast over a's leading dimensions.</summary>
        public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

        /// <summary>Element-wise product; b is broadcast over a's leading dimensions.</summary>
        public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

        /// <summary>Multiplication by a scalar.</summary>
        public static Tensor operator *(Tensor a, float s) => a.Scale(s);

        /// <summary>Multiplication by a scalar.</summary>
        public static Tensor operator *(float s, Tensor a) => a.Scale(s);
    }
}
