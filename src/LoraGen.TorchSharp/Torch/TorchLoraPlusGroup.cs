using TorchSharp.Modules;

namespace LoraGen.Torch;

/// <summary>One LoRA+ parameter group (<see cref="TorchLoraPlus.Groups"/>): its PEFT name, parameters, learning rate and weight decay.</summary>
/// <param name="Name"><c>groupA</c>, <c>groupB</c>, <c>groupB_no_decay</c> or <c>embedding</c>.</param>
/// <param name="Parameters">The group's parameters.</param>
/// <param name="LearningRate">The group's learning rate.</param>
/// <param name="WeightDecay">The group's weight decay.</param>
public sealed record TorchLoraPlusGroup(string Name, IReadOnlyList<Parameter> Parameters, double LearningRate, double WeightDecay);
