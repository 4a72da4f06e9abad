using LoraGen.Tensors;

namespace LoraGen.Lora;

/// <summary>
/// One adapter of a <see cref="BasisSlot"/>: a low-rank update built from frozen random matrices and a few trainable
/// numbers (<see cref="VeraAdapter"/>, <see cref="NolaAdapter"/>).
/// </summary>
internal interface IBasisAdapter
{
    /// <summary>VeRA or NoLA.</summary>
    LoraVariant Variant { get; }

    /// <summary>The rank r.</summary>
    int Rank { get; }

    /// <summary>The update's contribution to the output for input x [..., in]: [..., out], with a gradient path to the trainable vectors only.</summary>
    Tensor Contribution(Tensor x, bool training);

    /// <summary>ΔW [out, in] for a merge.</summary>
    float[] Delta();

    /// <summary>The trainable tensors.</summary>
    IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The frozen random matrices this adapter holds (VeRA: the shared projection and this layer's slices; NoLA: the bases), for <see cref="MemoryReport"/>.</summary>
    IEnumerable<Tensor> FrozenTensors { get; }

    /// <summary>The trainable tensors named as in a PEFT model's layer state dict (e.g. <c>vera_lambda_b.default</c>).</summary>
    IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string adapter);
}
