using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Generators.Tests.Models;

/// <summary>A NoLA model: the [LoraModel] default is NoLA with k = 16 (fc1) and fc2's own [Lora] likewise; head is not adapted.</summary>
[LoraModel(Rank = 4, Alpha = 8, Variant = LoraVariant.Nola, NolaBases = 16, Targets = new[] { "fc1" })]
public sealed partial class NolaMlp : Module
{
    private readonly Linear fc1;
    [Lora(Rank = 4, Alpha = 8, Variant = LoraVariant.Nola, NolaBases = 16)] private readonly Linear fc2;
    private readonly Linear head;

    public NolaMlp(int inputs, int hidden, int outputs, Rng rng)
    {
        fc1 = new Linear(inputs, hidden, rng: rng);
        fc2 = new Linear(hidden, hidden, rng: rng);
        head = new Linear(hidden, outputs, rng: rng);
    }

    public Tensor Forward(Tensor x) => head.Forward(fc2.Forward(fc1.Forward(x).Relu()).Relu());
}
