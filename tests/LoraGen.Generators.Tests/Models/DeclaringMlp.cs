using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Tensors;

namespace LoraGen.Generators.Tests.Models;

/// <summary>A root that adds a task type to its facade's options through the generated partial hook.</summary>
[LoraModel(Rank = 2, Alpha = 4, Targets = new[] { "fc1" })]
public sealed partial class DeclaringMlp : Module
{
    private readonly Linear fc1;

    public DeclaringMlp(int inputs, int outputs, Rng rng) => fc1 = new Linear(inputs, outputs, rng: rng);

    public Tensor Forward(Tensor x) => fc1.Forward(x);

    partial void ConfigureLoraOptions(ref LoraModelOptions options) => options = options with { TaskType = "SEQ_CLS" };
}
