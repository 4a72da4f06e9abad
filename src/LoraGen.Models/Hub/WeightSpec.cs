namespace LoraGen.Hub;

/// <summary>
/// One weight a family expects, named as transformers names it in the model (e.g.
/// <c>transformer.h.0.attn.c_attn.weight</c>), with its shape as a backend holds it: Linear-like weights [out, in].
/// <paramref name="Transposed"/> marks GPT-2's Conv1D weights, which the checkpoint stores [in, out] (PEFT's
/// <c>fan_in_fan_out</c> layers): the loader transposes them on the way in and the saver on the way out.
/// </summary>
/// <param name="Key">The model's parameter path.</param>
/// <param name="Shape">The shape a backend holds.</param>
/// <param name="Transposed">The file stores the 2-D transpose of <paramref name="Shape"/>.</param>
public sealed record WeightSpec(string Key, int[] Shape, bool Transposed = false)
{
    /// <summary>The shape in the checkpoint file.</summary>
    public long[] FileShape => Transposed ? [Shape[1], Shape[0]] : Shape.Select(d => (long)d).ToArray();

    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
