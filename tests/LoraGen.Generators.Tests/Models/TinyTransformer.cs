using System.Collections.Generic;
using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using LoraGen;

namespace LoraGen.Generators.Tests.Models
{
    /// <summary>
    /// A small pre-norm transformer exercising what the generator must handle: a List of blocks, a generic
    /// residual wrapper, a partial class split across files (see TinyTransformer.Layer.cs), [ModuleName]
    /// renames, [Lora] on an Embedding, and [Lora] fields on a nested type.
    /// </summary>
    [LoraModel]
    public sealed partial class TinyTransformer : Module
    {
        public const int Vocab = 17, Dim = 12, Heads = 2, Context = 6;

        [Lora(Rank = 2, Alpha = 4)] private readonly Embedding tok;
        private readonly Embedding pos;
        private readonly List<Residual<Layer>> layers = new();
        [ModuleName("norm_f")] private readonly RmsNorm _finalNorm;
        private readonly Linear head;

        public TinyTransformer(int layerCount, Rng rng)
        {
            tok = new Embedding(Vocab, Dim, rng);
            pos = new Embedding(Context, Dim, rng);
            for (int i = 0; i < layerCount; i++) layers.Add(new Residual<Layer>(new Layer(rng)));
            _finalNorm = new RmsNorm(Dim);
            head = new Linear(Dim, Vocab, bias: false, rng: rng);
        }

        /// <summary>ids [b, t] → logits [b, t, vocab].</summary>
        public Tensor Forward(int[] ids, int b, int t)
        {
            var positions = new int[t];
            for (int i = 0; i < t; i++) positions[i] = i;
            var x = tok.Forward(ids, b, t) + pos.Forward(positions, t);
            foreach (var layer in layers) x = layer.Forward(x);
            return head.Forward(_finalNorm.Forward(x));
        }

        /// <summary>Causal self-attention with adapters on the query and value projections.</summary>
        public sealed partial class Attention : Module
        {
            [Lora(Rank = 4, Alpha = 8, Dropout = 0.1)] private readonly Linear q_proj;
            private readonly Linear k_proj;
            [Lora(Rank = 4, Alpha = 16, UseRsLora = true)] private readonly Linear v_proj;
            [ModuleName("o_proj")] private readonly Linear _out;

            public Attention(Rng rng)
            {
                q_proj = new Linear(Dim, Dim, rng: rng);
                k_proj = new Linear(Dim, Dim, rng: rng);
                v_proj = new Linear(Dim, Dim, rng: rng);
                _out = new Linear(Dim, Dim, rng: rng);
            }

            public Tensor Forward(Tensor x)
            {
                int b = x.Dim(0), t = x.Dim(1), hd = Dim / Heads;
                Tensor Split(Tensor y) => y.Reshape(b, t, Heads, hd).Permute(0, 2, 1, 3);
                var att = AttentionOps.ScaledDotProductAttention(Split(q_proj.Forward(x)), Split(k_proj.Forward(x)), Split(v_proj.Forward(x)));
                return _out.Forward(att.Permute(0, 2, 1, 3).Reshape(b, t, Dim));
            }
        }
    }

    /// <summary>x + inner(norm(x)) around any module with a Forward(Tensor).</summary>
    public sealed partial class Residual<T> : Module where T : Module, IForward
    {
        private readonly RmsNorm norm = new(TinyTransformer.Dim);
        private readonly T inner;

        public Residual(T inner) => this.inner = inner;

        public Tensor Forward(Tensor x) => x + inner.Forward(norm.Forward(x));
    }

    /// <summary>A module with a tensor-to-tensor forward.</summary>
    public interface IForward
    {
        Tensor Forward(Tensor x);
    }
}
