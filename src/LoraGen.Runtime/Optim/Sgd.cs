using LoraGen.Tensors;

namespace LoraGen.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, as torch.optim.SGD: d = g + wd·p; buf = d (first step) or
/// μ·buf + (1 − dampening)·d; d = d + μ·buf (Nesterov) or buf; p ← p − lr·d.
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Dictionary<Tensor, float[]> _momentum = new(ReferenceEqualityComparer.Instance);

    /// <inheritdoc />
    public override long StateBytes => _momentum.Values.Sum(m => 4L * m.Length);

    /// <summary>One group of parameters.</summary>
    public Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : this([new ParamGroup(parameters, lr, weightDecay)], momentum, dampening, nesterov) { }

    /// <summary>Several groups.</summary>
    public Sgd(IEnumerable<ParamGroup> groups, float momentum = 0f, float dampening = 0f, bool nesterov = false) : base(groups)
    {
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0.");
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
    }

    /// <summary>μ.</summary>
    public float Momentum { get; }

    /// <summary>Dampening.</summary>
    public float Dampening { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    public override void Step()
    {
        CheckSteppable();
        foreach (var group in Groups)
        {
            foreach (var p in group.Params)
            {
                if (p.Grad is null) continue;
                var w = p.Data;
                var g = p.Grad.Data;
                bool first = false;
                float[]? buf = null;
                if (Momentum != 0 && !_momentum.TryGetValue(p, out buf))
                {
                    _momentum[p] = buf = new float[p.Size];
                    first = true;
                }
                for (int i = 0; i < w.Length; i++)
                {
                    float d = g[i];
                    if (group.WeightDecay != 0) d += group.WeightDecay * w[i];
                    if (buf is not null)
                    {
                        buf[i] = first ? d : Momentum * buf[i] + (1 - Dampening) * d;
                        d = Nesterov ? d + Momentum * buf[i] : buf[i];
                    }
                    w[i] -= group.Lr * d;
                }
            }
        }
    }
}
