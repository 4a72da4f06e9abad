using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Generators.Tests.Models;

/// <summary>
/// A DoRA model: the [LoraModel] default is DoRA (fc1, selected by name) and fc2's own [Lora] asks for DoRA too
/// (PEFT's use_dora is one flag per adapter, so a model's layers agree); head is not adapted.
/// </summary>
[LoraModel(Rank = 4, Alpha = 8, UseDora = true, Targets = new[] { "fc1" })]
public sealed partial class DoraMlp : Module
{
    private readonly Linear fc1;
    [Lora(Rank = 2, UseDora = true)] private readonly Linear fc2;
    private readonly Linear head;

    public DoraMlp(int inputs, int hidden, int outputs, Rng rng)
    {
        fc1 = new Linear(inputs, hidden, rng: rng);
        fc2 = new Linear(hidden, hidden, rng: rng);
        head = new Linear(hidden, outputs, rng: rng);
    }

    public Tensor Forward(Tensor x) => head.Forward(fc2.Forward(fc1.Forward(x).Relu()).Relu());
}
