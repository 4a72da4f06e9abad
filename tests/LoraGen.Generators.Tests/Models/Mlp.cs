using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;
using LoraGen;

namespace LoraGen.Generators.Tests.Models;

/// <summary>A two-layer MLP adapted PEFT-style, by name, with a rank override for fc2.</summary>
[LoraModel(Rank = 4, Alpha = 8, Targets = new[] { "fc1", "fc2" }, RankPattern = new[] { "fc2=2" }, BaseModelName = "tests/mlp")]
public sealed partial class Mlp : Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public Mlp(int inputs, int hidden, int outputs, Rng rng)
    {
        fc1 = new Linear(inputs, hidden, rng: rng);
        fc2 = new Linear(hidden, outputs, rng: rng);
    }

    public Tensor Forward(Tensor x) => fc2.Forward(fc1.Forward(x).Relu());
}
