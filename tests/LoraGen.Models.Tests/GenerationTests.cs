using LoraGen.Families;
using LoraGen.Generation;
using Xunit;

namespace LoraGen.Models.Tests;

/// <summary>The decode loop and sampling.</summary>
public class GenerationTests
{
    [Fact]
    public void GreedyTokensFollowTheReferenceLogits()
    {
        // Greedy continuation of prompt 2's first 20 tokens must pick, at each step, the argmax of the model's own
        // full (uncached) forward over the sequence so far.
        var model = HfModels.Load(Fixtures.Dir("llama"));
        int[] prompt = Fixtures.Prompts("llama")[2][..20];
        var generated = TextGenerator.Generate(new ManagedCausalLm(model), prompt, new SamplingOptions { MaxNewTokens = 6 });
        Assert.Equal(6, generated.Count);
        var seq = prompt.ToList();
        using var _ = Autograd.GradMode.NoGrad();
        foreach (int tok in generated)
        {
            var logits = CausalLmModule.LastLogits(model.Forward(seq.ToArray(), 1, seq.Count));
            Assert.Equal(Sampler.ArgMax(logits), tok);
            seq.Add(tok);
        }
    }

    [Fact]
    public void UnmergedAndMergedLoraGenerateTheSameTokens()
    {
        var model = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        var lora = model.LoraWith(Gpt2LMHeadModel.LoraOptions);
        lora.Load(Path.Combine(Fixtures.Dir("gpt2"), "adapter"));
        int[] prompt = [17, 3, 200, 45];
        var options = new SamplingOptions { MaxNewTokens = 12, Temperature = 0.8, TopK = 50, TopP = 0.9, Seed = 7 };
        var unmerged = TextGenerator.Generate(new ManagedCausalLm(model), prompt, options);
        lora.Merge();
        var merged = TextGenerator.Generate(new ManagedCausalLm(model), prompt, options);
        Assert.Equal(unmerged, merged);
        var baseModel = HfModels.Load(Fixtures.Dir("gpt2"));
        var plain = TextGenerator.Generate(new ManagedCausalLm(baseModel), prompt, options with { Temperature = 0 });
        var adapted = TextGenerator.Generate(new ManagedCausalLm(model), prompt, options with { Temperature = 0 });
        Assert.NotEqual(plain, adapted);   // the adapter does change the output
    }

    [Fact]
    public void StopTokenEndsGeneration()
    {
        var model = HfModels.Load(Fixtures.Dir("gpt2"));
        int[] prompt = [5, 6, 7];
        var free = TextGenerator.Generate(new ManagedCausalLm(model), prompt, new SamplingOptions { MaxNewTokens = 5 });
        var stopped = TextGenerator.Generate(new ManagedCausalLm(model), prompt, new SamplingOptions { MaxNewTokens = 5, StopTokens = [free[2]] });
        Assert.Equal(free.TakeWhile(t => t != free[2]), stopped);
    }

    [Fact]
    public void SamplingRespectsTopKAndTopPAndSeed()
    {
        float[] logits = [0f, 5f, 4.9f, 1f, -3f];
        var a = new Sampler(new SamplingOptions { Temperature = 1, Seed = 3 });
        var b = new Sampler(new SamplingOptions { Temperature = 1, Seed = 3 });
        Assert.Equal(Enumerable.Range(0, 50).Select(_ => a.Next(logits)), Enumerable.Range(0, 50).Select(_ => b.Next(logits)));
        var top2 = new Sampler(new SamplingOptions { Temperature = 5, TopK = 2, Seed = 1 });
        var picks = Enumerable.Range(0, 300).Select(_ => top2.Next(logits)).ToHashSet();
        Assert.Equal([1, 2], picks.Order());
        var nucleus = new Sampler(new SamplingOptions { Temperature = 1, TopP = 0.4, Seed = 1 });
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal(1, nucleus.Next(logits)));   // p(1) ≈ 0.52 ≥ 0.4 alone
        Assert.Equal(1, new Sampler(new SamplingOptions()).Next(logits));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { TopP = 0 }));
    }
}
