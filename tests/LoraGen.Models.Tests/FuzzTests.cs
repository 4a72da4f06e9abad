using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Models.Tests;

/// <summary>
/// Seeded, bounded fuzzing (<see cref="ModelFuzz"/>) of every input surface of a model directory: config.json,
/// model.safetensors.index.json, tokenizer.json, vocab.json/merges.txt and tokenizer_config.json. Each mutated input
/// either parses or throws the surface's typed error; none hangs, none allocates beyond a bound linear in its size.
/// CI runs 10,000 cases per surface; <c>LORAGEN_FUZZ_CASES</c> raises the count, and the benchmark command
/// <c>fuzz-models</c> runs 100,000 (benchmarks/results-models.md).
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("LORAGEN_FUZZ_CASES"), out var n) && n > 0 ? n : 10_000;

    public static TheoryData<string> Surfaces => new(ModelFuzz.Surfaces(Fixtures.Root).Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Surfaces))]
    public void MutatedInputsGiveTypedErrorsOnly(string surface)
    {
        var r = ModelFuzz.Run(ModelFuzz.Surfaces(Fixtures.Root).Single(s => s.Name == surface), Cases);
        output.WriteLine($"{surface}: {r.Cases} cases in {r.Seconds:F1} s (parsed {r.Parsed}, rejected {r.Rejected}; most {r.MaxAllocated:N0} B, {r.MaxMilliseconds:F0} ms)");
        Assert.True(r.Failures.Count == 0, $"{surface}:\n" + string.Join("\n", r.Failures));
        Assert.Equal(Cases, r.Cases);
        Assert.True(r.Parsed > 0 && r.Rejected > 0, $"{surface}: the fuzz should reach both outcomes (parsed {r.Parsed}, rejected {r.Rejected})");
    }
}
