using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Tensors;

namespace LoraGen.TorchSharp.Tests.Lora;

/// <summary><see cref="TorchPair"/> written for the managed runtime (Children and AdapterSpecFor by hand, as the generator writes them).</summary>
internal sealed class ManagedPair : Module
{
    public readonly Linear q_proj = new(12, 10, rng: new Rng(1));
    public readonly Linear k_proj = new(10, 10, rng: new Rng(2));
    public readonly Linear v_proj = new(10, 6, rng: new Rng(3));

    public ManagedPair() => Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly);

    public LoraModelController Lora { get; }

    public override IEnumerable<(string Name, Module Module)> Children() => [("q_proj", q_proj), ("k_proj", k_proj), ("v_proj", v_proj)];

    protected override AdapterSpec? AdapterSpecFor(string childName) => childName switch
    {
        "q_proj" => new LoraFieldSpec(new LoraConfig(4, 8)),
        "v_proj" => new LoraFieldSpec(new LoraConfig(2, 8, UseRsLora: true)),
        _ => null,
    };

    public Tensor Forward(Tensor x) => v_proj.Forward(k_proj.Forward(q_proj.Forward(x)));
}
