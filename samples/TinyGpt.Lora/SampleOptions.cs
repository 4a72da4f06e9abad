using System.Globalization;

namespace TinyGpt.Lora;

/// <summary>
/// The sample's command line, parsed in this one place: <c>[--quick] [--out DIR] [--pretrain-steps N] [--lora-steps N]
/// [--method NAME] [--loraplus-ratio X] [--base FILE]</c>. <c>--quick</c> picks a small model and short runs (what CI and
/// the tests run); the step counts override either size. <c>--method</c> picks the fine-tuning method
/// (<see cref="FineTuneMethod"/>, default <c>lora</c>); <c>--loraplus-ratio</c> trains with the LoRA+ optimizer (B's
/// learning rate X times A's); <c>--base</c> loads a pre-trained base (the <c>base.safetensors</c> of an earlier run of
/// the same size) instead of pre-training one, so that methods compare on one base without pre-training again.
/// </summary>
public sealed record SampleOptions(bool Quick, string OutDir, int PretrainSteps, int LoraSteps)
{
    /// <summary>The usage line, printed with a bad argument.</summary>
    public static string Usage { get; } =
        $"usage: TinyGpt.Lora [--quick] [--out DIR] [--pretrain-steps N] [--lora-steps N] [--method {FineTuneMethod.Names}] [--loraplus-ratio X] [--base FILE]";

    /// <summary>The fine-tuning method (<c>--method</c>).</summary>
    public FineTuneMethod Method { get; init; } = FineTuneMethod.Default;

    /// <summary>LoRA+'s <c>loraplus_lr_ratio</c> (<c>--loraplus-ratio</c>), or null for one learning rate for A and B.</summary>
    public float? LoraPlusRatio { get; init; }

    /// <summary>A pre-trained base to load instead of pre-training (<c>--base</c>), or null.</summary>
    public string? BasePath { get; init; }

    /// <summary>Parses <paramref name="args"/>; an unknown option or a bad value throws <see cref="ArgumentException"/> naming it.</summary>
    public static SampleOptions Parse(IReadOnlyList<string> args)
    {
        bool quick = false;
        string outDir = "out";
        int? pretrainSteps = null, loraSteps = null;
        var method = FineTuneMethod.Default;
        float? ratio = null;
        string? basePath = null;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--out": outDir = Value(args, ref i); break;
                case "--pretrain-steps": pretrainSteps = Count(args, ref i); break;
                case "--lora-steps": loraSteps = Count(args, ref i); break;
                case "--method":
                    string name = Value(args, ref i);
                    method = FineTuneMethod.Find(name) ?? throw new ArgumentException($"--method must be one of {FineTuneMethod.Names}, not '{name}'\n{Usage}");
                    break;
                case "--loraplus-ratio": ratio = Ratio(args, ref i); break;
                case "--base": basePath = Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}");
            }
        }
        return new SampleOptions(quick, outDir, pretrainSteps ?? 200, loraSteps ?? (quick ? 200 : 100))
        {
            Method = method,
            LoraPlusRatio = ratio,
            BasePath = basePath,
        };
    }

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        ++i < args.Count ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value\n{Usage}");

    private static float Ratio(IReadOnlyList<string> args, ref int i)
    {
        string name = args[i], value = Value(args, ref i);
        return float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) && float.IsFinite(x) && x > 0
            ? x : throw new ArgumentException($"{name} needs a positive number, not '{value}'\n{Usage}");
    }

    private static int Count(IReadOnlyList<string> args, ref int i)
    {
        string name = args[i], value = Value(args, ref i);
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new ArgumentException($"{name} needs a positive whole number, not '{value}'\n{Usage}");
    }
}
