using LoraGen.Autograd;
using LoraGen.Families;
using LoraGen.Nn;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Models.Tests;

/// <summary>Loading streams tensors into the model (no second copy), and can keep the frozen base in bf16.</summary>
public class LoadTests(ITestOutputHelper output)
{
    /// <summary>
    /// The stated bound for a rounded base: bf16 keeps 8 significant bits (each weight moves by ≤ 2⁻⁹ relative), and
    /// through these two-layer models the logits of a bf16 base stay within 2% of the largest |logit| of the f32 load
    /// (measured: 0.2–0.9%).
    /// </summary>
    public const float RoundedBaseRelativeTolerance = 0.02f;

    [Fact]
    public void Bf16BaseOfABf16CheckpointMatchesTheReferenceExactly()
    {
        // The llama fixture is stored in BF16: keeping the base in bf16 loses nothing, logits stay within 1e-4.
        var model = HfModels.Load(Fixtures.Dir("llama"), BaseFormat.BF16);
        var linears = model.NamedModules().Select(m => m.Module).OfType<Linear>().ToList();
        Assert.NotEmpty(linears);
        Assert.All(linears, l => Assert.Equal(BaseFormat.BF16, l.BaseFormat));
        var prompts = Fixtures.Prompts("llama");
        using var _ = GradMode.NoGrad();
        for (int p = 0; p < prompts.Length; p++)
        {
            var ids = prompts[p];
            float full = Fixtures.MaxAbsDiff(model.Forward(ids, 1, ids.Length).Data, Fixtures.Logits("llama", p));
            var cache = model.NewCache(64);
            var cached = new List<float>();
            foreach (int id in ids) cached.AddRange(model.Forward([id], 1, 1, cache).ToArray());
            float step = Fixtures.MaxAbsDiff(cached.ToArray(), Fixtures.Logits("llama", p));
            output.WriteLine($"llama bf16 base, prompt {p}: full {full:E2}, cached {step:E2}");
            Assert.True(Math.Max(full, step) <= ParityTests.Tolerance, $"prompt {p}: {full} / {step}");
        }
    }

    [Theory]
    [InlineData("gpt2")]          // F32 checkpoint
    [InlineData("llama3-tied")]   // F16 checkpoint
    public void Bf16BaseOfAWiderCheckpointStaysWithinTheStatedTolerance(string name)
    {
        var f32 = HfModels.Load(Fixtures.Dir(name));
        var bf16 = HfModels.Load(Fixtures.Dir(name), BaseFormat.BF16);
        using var _ = GradMode.NoGrad();
        foreach (var ids in Fixtures.Prompts(name))
        {
            var reference = f32.Forward(ids, 1, ids.Length).ToArray();
            float diff = Fixtures.MaxAbsDiff(reference, bf16.Forward(ids, 1, ids.Length).Data);
            float scale = reference.Max(Math.Abs);
            output.WriteLine($"{name} bf16 base vs f32 (T {ids.Length}): max |Δ logits| {diff:E2} = {diff / scale:P2} of max |logit| {scale:F2}");
            Assert.True(diff > 0, "the base was rounded, so some logit moves");
            Assert.True(diff <= RoundedBaseRelativeTolerance * scale, $"{name}: max |Δ logits| {diff}, max |logit| {scale}");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("llama3-tied")]
    public void LoadingAllocatesTheModelOnceNotTwice(string name)
    {
        HfModels.Load(Fixtures.Dir(name));   // warm up (JIT, statics)
        long before = GC.GetAllocatedBytesForCurrentThread();
        var model = HfModels.Load(Fixtures.Dir(name));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long parameters = model.ParameterCount() * sizeof(float);
        output.WriteLine($"{name}: allocated {allocated:N0} B for {parameters:N0} B of parameters ({(double)allocated / parameters:F2}×)");
        // Reading every tensor into a dictionary first (the old path) allocated ≥ 2× the parameters.
        Assert.True(allocated < 1.6 * parameters, $"{name}: {allocated} B allocated for {parameters} B of parameters");
    }
}
