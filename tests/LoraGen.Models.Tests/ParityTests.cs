using LoraGen.Autograd;
using LoraGen.Families;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Models.Tests;

/// <summary>Logits of the loaded fixtures against the script's float64 reference, ≤ 1e-4, with and without KV cache.</summary>
public class ParityTests(ITestOutputHelper output)
{
    public const float Tolerance = 1e-4f;

    public static TheoryData<string> Models => ["gpt2", "llama", "llama3-tied"];

    [Theory]
    [MemberData(nameof(Models))]
    public void FullForwardMatchesReference(string name)
    {
        var model = HfModels.Load(Fixtures.Dir(name));
        var prompts = Fixtures.Prompts(name);
        using var _ = GradMode.NoGrad();
        for (int p = 0; p < prompts.Length; p++)
        {
            var ids = prompts[p];
            var logits = model.Forward(ids, 1, ids.Length);
            float diff = Fixtures.MaxAbsDiff(logits.Data, Fixtures.Logits(name, p));
            output.WriteLine($"{name} prompt {p} (T {ids.Length}): max |Δ| {diff:E2}");
            Assert.True(diff <= Tolerance, $"{name} prompt {p}: max |Δ logits| {diff}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CachedForwardMatchesReference(string name)
    {
        var model = HfModels.Load(Fixtures.Dir(name));
        var prompts = Fixtures.Prompts(name);
        using var _ = GradMode.NoGrad();
        for (int p = 0; p < prompts.Length; p++)
        {
            var ids = prompts[p];
            var reference = Fixtures.Logits(name, p);
            int vocab = model.Config.VocabSize;
            var cache = model.NewCache(64);
            // The first half in one step (prefill), then one token at a time.
            int first = Math.Max(1, ids.Length / 2);
            var pre = model.Forward(ids[..first], 1, first, cache);
            float diff = Fixtures.MaxAbsDiff(pre.Data, reference.AsSpan(0, first * vocab));
            for (int i = first; i < ids.Length; i++)
            {
                var step = model.Forward([ids[i]], 1, 1, cache);
                diff = Math.Max(diff, Fixtures.MaxAbsDiff(step.Data, reference.AsSpan(i * vocab, vocab)));
            }
            Assert.Equal(ids.Length, cache.Length);
            output.WriteLine($"{name} prompt {p} cached: max |Δ| {diff:E2}");
            Assert.True(diff <= Tolerance, $"{name} prompt {p} with cache: max |Δ logits| {diff}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardLastGivesTheLastPositionOnly(string name)
    {
        // The decode loop's path: the head runs for the last position of a prefill, and for each cached step.
        var model = HfModels.Load(Fixtures.Dir(name));
        var prompts = Fixtures.Prompts(name);
        int vocab = model.Config.VocabSize;
        for (int p = 0; p < prompts.Length; p++)
        {
            var ids = prompts[p];
            var reference = Fixtures.Logits(name, p);
            var whole = model.ForwardLast(ids, 1, ids.Length);
            Assert.Equal([1, 1, vocab], whole.Shape.ToArray());
            float diff = Fixtures.MaxAbsDiff(whole.Data, reference.AsSpan((ids.Length - 1) * vocab, vocab));
            var cache = model.NewCache(64);
            int first = Math.Max(1, ids.Length / 2);
            var last = model.ForwardLast(ids[..first], 1, first, cache);
            diff = Math.Max(diff, Fixtures.MaxAbsDiff(last.Data, reference.AsSpan((first - 1) * vocab, vocab)));
            for (int i = first; i < ids.Length; i++)
                diff = Math.Max(diff, Fixtures.MaxAbsDiff(model.ForwardLast([ids[i]], 1, 1, cache).Data, reference.AsSpan(i * vocab, vocab)));
            output.WriteLine($"{name} prompt {p} ForwardLast: max |Δ| {diff:E2}");
            Assert.True(diff <= Tolerance, $"{name} prompt {p}: max |Δ logits| {diff}");
        }
    }
}
