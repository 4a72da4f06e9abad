using System.Globalization;
using LoraGen.Models.Tests;

namespace LoraGen.Benchmarks;

/// <summary>
/// <c>fuzz-models [N]</c>: the model-directory fuzzer of tests/LoraGen.Models.Tests (ModelFuzz.cs, linked) at
/// N cases per surface (default 100,000), as a Markdown table for benchmarks/results-models.md. Exit code 1 on any
/// untyped error, hang or allocation over the bound.
/// </summary>
internal static class FuzzModelsBench
{
    public static int Run(int cases)
    {
        string root = FixturesRoot();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"Model-directory fuzz: {cases:N0} mutated inputs per surface (seeded), fixtures {root}");
        Console.WriteLine("| surface | cases | parsed | typed errors | failures | time (s) | slowest case (ms) | most allocated (B) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        int failures = 0;
        foreach (var surface in ModelFuzz.Surfaces(root))
        {
            var r = ModelFuzz.Run(surface, cases);
            failures += r.Failures.Count;
            Console.WriteLine(string.Create(inv, $"| {r.Surface} | {r.Cases:N0} | {r.Parsed:N0} | {r.Rejected:N0} | {r.Failures.Count} | {r.Seconds:F1} | {r.MaxMilliseconds:F1} | {r.MaxAllocated:N0} |"));
            foreach (var f in r.Failures) Console.Error.WriteLine($"  {surface.Name}: {f}");
        }
        return failures == 0 ? 0 : 1;
    }

    /// <summary>tests/LoraGen.Models.Tests/Fixtures/hf, found from the working directory or the binary upward.</summary>
    private static string FixturesRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "tests", "LoraGen.Models.Tests", "Fixtures", "hf");
                if (Directory.Exists(candidate)) return candidate;
            }
        throw new DirectoryNotFoundException("tests/LoraGen.Models.Tests/Fixtures/hf not found above the working directory; run from the repository.");
    }
}
