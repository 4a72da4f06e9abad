using LoraGen.Autograd;
using LoraGen.Kernels;
using LoraGen.Tensors;

namespace LoraGen.Optim;

/// <summary>
/// Adam with decoupled weight decay, step for step as torch.optim.AdamW (1.13, single-tensor path):
/// p ← p·(1 − lr·wd); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly Dictionary<Tensor, State> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>One group of parameters.</summary>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f)
        : this([new ParamGroup(parameters, lr, weightDecay)], beta1, beta2, eps) { }

    /// <summary>Several groups, each with its own learning rate and weight decay.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f) : base(groups)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    /// <inheritdoc />
    public override long StateBytes => _state.Values.Sum(s => 8L * s.M.Length);

    /// <summary>β₁.</summary>
    public float Beta1 { get; }

    /// <summary>β₂.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Eps { get; }

    private sealed class State(int n)
    {
        public readonly float[] M = new float[n], V = new float[n];
        public int Step;
    }

    /// <inheritdoc />
    public override void Step()
    {
        CheckSteppable();
        using var profile = OpProfiler.Forward("adamw.step");
        foreach (var group in Groups)
        {
            foreach (var p in group.Params)
            {
                if (p.Grad is null) continue;
                if (!_state.TryGetValue(p, out var s)) _state[p] = s = new State(p.Size);
                s.Step++;
                double bc1 = 1 - Math.Pow(Beta1, s.Step);
                double bc2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, s.Step));
                float decay = (float)(1 - (double)group.Lr * group.WeightDecay);
                float stepSize = (float)(group.Lr / bc1);
                float invBc2Sqrt = (float)bc2Sqrt;
                float b1 = Beta1, b2 = Beta2, c1 = (float)(1 - (double)Beta1), c2 = (float)(1 - (double)Beta2), eps = Eps;
                // Element-wise and independent per element: split across the cores in contiguous chunks (same results).
                Memory<float> wm = p.Storage, gm = p.Grad.Storage;
                float[] ma = s.M, va = s.V;
                Par.Rows(p.Size, workPerRow: 8, (lo, hi) =>
                    Update(wm.Span[lo..hi], gm.Span[lo..hi], ma.AsSpan(lo, hi - lo), va.AsSpan(lo, hi - lo), decay, stepSize, invBc2Sqrt, b1, b2, c1, c2, eps));
            }
        }
    }

    /// <summary>One AdamW update of a contiguous run of elements: w, m, v in place from g.</summary>
    private static void Update(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float decay, float stepSize, float invBc2Sqrt, float b1, float b2, float c1, float c2, float eps)
    {
        for (int i = 0; i < w.Length; i++)
        {
            float gi = g[i];
            w[i] *= decay;
            m[i] = m[i] * b1 + gi * c1;
            v[i] = v[i] * b2 + c2 * (gi * gi);
            float denom = MathF.Sqrt(v[i]) / invBc2Sqrt + eps;
            w[i] += -stepSize * (m[i] / denom);
        }
    }
}
