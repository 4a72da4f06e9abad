using LoraGen.SafeTensors;

namespace LoraGen.Cli;

/// <summary>The <c>--dtype</c> option's values.</summary>
internal static class DTypeOption
{
    /// <summary>Parses a dtype option value (f32, f16, bf16, any case).</summary>
    public static SafetensorsDType Parse(string value) => value.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => SafetensorsDType.F32,
        "f16" or "float16" or "fp16" => SafetensorsDType.F16,
        "bf16" or "bfloat16" => SafetensorsDType.BF16,
        _ => throw new CliException(ExitCodes.Usage, $"--dtype: '{value}' is not one of f32, f16, bf16."),
    };
}
