namespace LoraGen.Peft;

/// <summary>Which of a layer's adapter tensors a file key names (see <see cref="AdapterKeys.TryParse"/>).</summary>
public enum AdapterKeyPart
{
    /// <summary>A: <c>lora_A.weight</c> or <c>lora_embedding_A</c>.</summary>
    A,

    /// <summary>B: <c>lora_B.weight</c> or <c>lora_embedding_B</c>.</summary>
    B,

    /// <summary>DoRA's magnitude vector: <c>lora_magnitude_vector</c>.</summary>
    Magnitude,
}
