using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Generators.Tests.Models;

/// <summary>A VeRA model: the [LoraModel] default is VeRA (fc1, selected by name) and fc2's own [Lora] asks for VeRA with the same rank (the projection is shared); head is not adapted.</summary>
[LoraModel(Rank = 4, Alpha = 8, Variant = LoraVariant.Vera, Targets = new[] { "fc1" })]
public sealed partial class VeraMlp : Module
{
    private readonly Linear fc1;
    [Lora(Rank = 4, Alpha = 8, Variant = LoraVariant.Vera)] private readonly Linear fc2;
    private readonly Linear head;

    public VeraMlp(int inputs, int hidden, int outputs, Rng rng)
    {
        fc1 = new Linear(inputs, hidden, rng: rng);
        fc2 = new Linear(hidden, hidden, rng: rng);
        head = new Linear(hidden, outputs, rng: rng);
    }

    public Tensor Forward(Tensor x) => head.Forward(fc2.Forward(fc1.Forward(x).Relu()).Relu());
}
