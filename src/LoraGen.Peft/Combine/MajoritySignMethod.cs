namespace LoraGen.Combine;

/// <summary>How TIES elects each element's sign (PEFT's <c>majority_sign_method</c>).</summary>
public enum MajoritySignMethod
{
    /// <summary><c>"total"</c>: the sign of the sum of the values (PEFT's default).</summary>
    Total,

    /// <summary><c>"frequency"</c>: the sign held by more adapters.</summary>
    Frequency,
}
