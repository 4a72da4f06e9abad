using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>
/// A Linear with LoRA written by hand the way PEFT computes it: <c>x·Wᵀ + b + s · B(A(dropout(x)))</c>, s = alpha / r.
/// Parameters <c>weight</c> [out, in] and <c>bias</c> [out] (nn.Linear's names, so base weights load by state-dict
/// name), and with a rank <c>adapter_a</c> (PEFT's A) [r, in] (kaiming_uniform(a=√5), i.e. U(±1/√in)) and <c>adapter_b</c> (PEFT's B) [out, r] (zeros).
/// Rank 0: a plain linear layer; <c>bias: false</c>: no bias (Llama's projections). No LoraGen anywhere: this is what a
/// TorchSharp user would write by hand.
/// </summary>
public sealed class PeerLoraLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;
    private readonly Parameter? _loraA;
    private readonly Parameter? _loraB;
    private readonly Dropout? _dropout;
    private readonly double _scaling;
    private Tensor? _weightBf16;
    private Tensor? _biasBf16;

    public PeerLoraLinear(long inFeatures, long outFeatures, int rank = 0, double alpha = 16, double dropout = 0, bool bias = true) : base(nameof(PeerLoraLinear))
    {
        double bound = 1.0 / Math.Sqrt(inFeatures);
        _weight = new Parameter(empty(outFeatures, inFeatures).uniform_(-bound, bound));
        register_parameter("weight", _weight);
        if (bias)
        {
            _bias = new Parameter(empty(outFeatures).uniform_(-bound, bound));
            register_parameter("bias", _bias);
        }
        if (rank > 0)
        {
            _loraA = new Parameter(empty(rank, inFeatures).uniform_(-bound, bound));
            _loraB = new Parameter(zeros(outFeatures, rank));
            register_parameter("adapter_a", _loraA);
            register_parameter("adapter_b", _loraB);
            _scaling = alpha / rank;
            if (dropout > 0)
            {
                _dropout = nn.Dropout(dropout);
                register_module("adapter_dropout", _dropout);
            }
        }
    }

    /// <summary>
    /// The frozen base in bf16 from now on (A and B stay fp32): x·Wᵀ + b runs on bf16 copies of W and b with x cast to
    /// bf16, the result cast back to fp32 — what autocast does for a bf16 base. The fp32 parameters stay registered.
    /// </summary>
    public void UseBf16Base()
    {
        using var _ = no_grad();
        _weightBf16 = _weight.detach().to(ScalarType.BFloat16);
        _biasBf16 = _bias?.detach().to(ScalarType.BFloat16);
    }

    /// <summary>x [..., in] → [..., out].</summary>
    public override Tensor forward(Tensor x)
    {
        Tensor y;
        if (_weightBf16 is null) y = nn.functional.linear(x, _weight, _bias);
        else
        {
            using var xb = x.to(ScalarType.BFloat16);
            using var yb = nn.functional.linear(xb, _weightBf16, _biasBf16);
            y = yb.to(ScalarType.Float32);
        }
        if (_loraA is null || _loraB is null) return y;
        var dropped = _dropout is null ? x : _dropout.call(x);
        try
        {
            using var h = nn.functional.linear(dropped, _loraA);   // [..., r]
            using var up = nn.functional.linear(h, _loraB);        // [..., out]
            using var scaled = up.mul(_scaling);
            using (y) return y.add(scaled);
        }
        finally
        {
            if (!ReferenceEquals(dropped, x)) dropped.Dispose();
        }
    }
}
