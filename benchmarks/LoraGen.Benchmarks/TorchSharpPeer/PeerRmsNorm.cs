using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Llama's RMSNorm as transformers computes it: x · rsqrt(mean(x²) + eps) · weight, in fp32.</summary>
public sealed class PeerRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public PeerRmsNorm(long dim, double eps) : base(nameof(PeerRmsNorm))
    {
        weight = new Parameter(ones(dim));
        _eps = eps;
        RegisterComponents();
    }

    /// <summary>x [..., d] → [..., d].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.pow(2).mean([-1], keepdim: true);
        return (x * rsqrt(variance + _eps) * weight).MoveToOuterDisposeScope();
    }
}
