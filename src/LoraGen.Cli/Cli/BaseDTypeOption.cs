using System.CommandLine;
using LoraGen.Nn;

namespace LoraGen.Cli;

/// <summary>The model verbs' <c>--base-dtype f32|bf16</c>: the format the frozen base's Linear weights are kept in.</summary>
internal static class BaseDTypeOption
{
    /// <summary>A new <c>--base-dtype</c> option (default f32).</summary>
    public static Option<string> Create() => new("--base-dtype")
    {
        DefaultValueFactory = _ => "f32",
        Description = "keep the frozen base's Linear weights in f32 or bf16 (half the bytes per GEMM; exact for a bf16 checkpoint)",
    };

    /// <summary>Parses a value (f32, bf16, any case).</summary>
    public static BaseFormat Parse(string value) => value.ToLowerInvariant() switch
    {
        "f32" or "float32" or "fp32" => BaseFormat.Fp32,
        "bf16" or "bfloat16" => BaseFormat.BF16,
        _ => throw new CliException(ExitCodes.Usage, $"--base-dtype: '{value}' is not one of f32, bf16."),
    };
}
