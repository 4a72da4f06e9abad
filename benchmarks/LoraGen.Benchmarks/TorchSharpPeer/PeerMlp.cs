using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>Linear(d, 4d), GELU (tanh, as the managed TinyGpt), Linear(4d, d).</summary>
public sealed class PeerMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc;
    private readonly Linear proj;

    public PeerMlp(PeerConfig config) : base(nameof(PeerMlp))
    {
        fc = nn.Linear(config.Dim, 4 * config.Dim);
        proj = nn.Linear(4 * config.Dim, config.Dim);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return proj.call(nn.functional.gelu(fc.call(x), GELU.Approximate.tanh)).MoveToOuterDisposeScope();
    }
}
