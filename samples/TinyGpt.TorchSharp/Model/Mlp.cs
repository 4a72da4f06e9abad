using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TinyGpt.TorchSharp.Model;

/// <summary>The feed-forward part: Linear(d, 4d), GELU (tanh approximation, as the managed sample), Linear(4d, d).</summary>
public sealed partial class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc;
    private readonly Linear proj;

    public Mlp(GptConfig config) : base(nameof(Mlp))
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
