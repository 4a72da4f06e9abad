namespace LoraGen.Peft;

/// <summary>
/// PEFT's <c>init_lora_weights</c>: <c>true</c> (the default: A Kaiming-uniform, B zeros), <c>false</c> (A and B
/// random, for debugging) or the name of an initialization method (<c>"gaussian"</c>, <c>"pissa"</c>,
/// <c>"pissa_niter_4"</c>, <c>"olora"</c>, <c>"eva"</c>, <c>"corda"</c>, <c>"loftq"</c>, <c>"orthogonal"</c>, …).
/// </summary>
public sealed record InitLoraWeights
{
    private InitLoraWeights(bool? flag, string? method)
    {
        Flag = flag;
        Method = method;
    }

    /// <summary><c>true</c>: PEFT's default initialization.</summary>
    public static InitLoraWeights Default { get; } = new(true, null);

    /// <summary><c>"gaussian"</c>: A ~ N(0, 1/r²), B zeros.</summary>
    public static InitLoraWeights Gaussian { get; } = new(null, Contract.ConfigFields.InitGaussian);

    /// <summary>The boolean form.</summary>
    public static InitLoraWeights FromBool(bool value) => new(value, null);

    /// <summary>A named method; <paramref name="method"/> must not be empty.</summary>
    public static InitLoraWeights FromMethod(string method)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        return new(null, method);
    }

    /// <summary>The boolean form.</summary>
    public static implicit operator InitLoraWeights(bool value) => FromBool(value);

    /// <summary>A named method.</summary>
    public static implicit operator InitLoraWeights(string method) => FromMethod(method);

    /// <summary>The boolean value, or null for a named method.</summary>
    public bool? Flag { get; }

    /// <summary>The method name, or null for the boolean form.</summary>
    public string? Method { get; }

    /// <summary><c>true</c>, <c>false</c> or the method name.</summary>
    public override string ToString() => Method ?? (Flag == true ? "true" : "false");
}
