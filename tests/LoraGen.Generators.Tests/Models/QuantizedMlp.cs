using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Generators.Tests.Models;

/// <summary>QLoRA at compile time: the frozen base Linear weights are stored in NF4 once adapters are attached.</summary>
[LoraModel(BaseQuantization = LoraBaseQuantization.Nf4, Targets = new[] { "fc2" })]
public sealed partial class QuantizedMlp : Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public QuantizedMlp(int inputs, int hidden, Rng rng)
    {
        fc1 = new Linear(inputs, hidden, rng: rng);
        fc2 = new Linear(hidden, inputs, rng: rng);
    }

    public Linear Fc1 => fc1;

    public Linear Fc2 => fc2;

    public Tensor Forward(Tensor x) => fc2.Forward(fc1.Forward(x).Relu());
}
