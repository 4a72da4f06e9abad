using System.Globalization;

namespace TinyGpt.Lora;

/// <summary>
/// The sample's command line, parsed in this one place: <c>[--quick] [--out DIR] [--pretrain-steps N] [--lora-steps N]</c>.
/// <c>--quick</c> picks a small model and short runs (what CI and the tests run); the step counts override either size.
/// </summary>
public sealed record SampleOptions(bool Quick, string OutDir, int PretrainSteps, int LoraSteps)
{
    /// <summary>The usage line, printed with a bad argument.</summary>
    public const string Usage = "usage: TinyGpt.Lora [--quick] [--out DIR] [--pretrain-steps N] [--lora-steps N]";

    /// <summary>Parses <paramref name="args"/>; an unknown option or a bad value throws <see cref="ArgumentException"/> naming it.</summary>
    public static SampleOptions Parse(IReadOnlyList<string> args)
    {
        bool quick = false;
        string outDir = "out";
        int? pretrainSteps = null, loraSteps = null;
        for (int i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--out": outDir = Value(args, ref i); break;
                case "--pretrain-steps": pretrainSteps = Count(args, ref i); break;
                case "--lora-steps": loraSteps = Count(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'\n{Usage}");
            }
        }
        return new SampleOptions(quick, outDir, pretrainSteps ?? 200, loraSteps ?? (quick ? 200 : 100));
    }

    private static string Value(IReadOnlyList<string> args, ref int i) =>
        ++i < args.Count ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value\n{Usage}");

    private static int Count(IReadOnlyList<string> args, ref int i)
    {
        string name = args[i], value = Value(args, ref i);
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new ArgumentException($"{name} needs a positive whole number, not '{value}'\n{Usage}");
    }
}
