using LoraGen.Autograd;
using LoraGen.Families;
using LoraGen.Hub;
using LoraGen.Lora;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Peft;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Models.Tests;

/// <summary>LoRA on the families: a PEFT adapter on GPT-2's Conv1D layers (fan_in_fan_out), merge, save, train.</summary>
public class LoraTests(ITestOutputHelper output)
{
    [Fact]
    public void PeftConv1DAdapterLoadsAndMatchesReference()
    {
        var model = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        var lora = model.LoraWith(Gpt2LMHeadModel.LoraOptions);
        lora.Load(Path.Combine(Fixtures.Dir("gpt2"), "adapter"));
        var targets = lora.Targets();
        Assert.Equal(4, targets.Count);   // attn.c_attn and attn.c_proj in 2 layers; not mlp.c_proj
        Assert.All(targets, t => Assert.Contains(".attn.c_", t.Path));
        var prompts = Fixtures.Prompts("gpt2");
        using var _ = GradMode.NoGrad();
        for (int p = 0; p < prompts.Length; p++)
        {
            var ids = prompts[p];
            var reference = Fixtures.Logits("gpt2", p, "logits_lora");
            float unmerged = Fixtures.MaxAbsDiff(model.Forward(ids, 1, ids.Length).Data, reference);
            lora.Merge();
            float merged = Fixtures.MaxAbsDiff(model.Forward(ids, 1, ids.Length).Data, reference);
            lora.Unmerge();
            output.WriteLine($"gpt2+lora prompt {p}: unmerged {unmerged:E2}, merged {merged:E2}");
            Assert.True(unmerged <= ParityTests.Tolerance, $"unmerged {unmerged}");
            Assert.True(merged <= ParityTests.Tolerance, $"merged {merged}");
        }
    }

    [Fact]
    public void Gpt2AdapterSavesWithFanInFanOutAndTransformersNames()
    {
        var model = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        var lora = model.LoraWith(Gpt2LMHeadModel.LoraOptions with { BaseModelName = "tiny-gpt2" });
        lora.Attach();
        string dir = Path.Combine(Path.GetTempPath(), "loragen-ad-" + Guid.NewGuid().ToString("N"));
        lora.Save(dir);
        var files = AdapterDirectory.Open(dir);
        using (files)
        {
            Assert.True(files.Config.FanInFanOut);
            Assert.Equal("tiny-gpt2", files.Config.BaseModelNameOrPath);
            Assert.Equal("CAUSAL_LM", files.Config.TaskType);   // PEFT's task for a causal LM family
            Assert.Contains(AdapterKeys.A("transformer.h.1.attn.c_attn", LayerKind.Linear), files.Weights.Tensors.Select(t => t.Name));
            Assert.Equal([8L, 64L], files.Weights.Info(AdapterKeys.A("transformer.h.1.attn.c_attn", LayerKind.Linear)).Shape);
            Assert.Equal([192L, 8L], files.Weights.Info(AdapterKeys.B("transformer.h.1.attn.c_attn", LayerKind.Linear)).Shape);
        }
        // And it loads back into a fresh model.
        var again = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        again.LoraWith(Gpt2LMHeadModel.LoraOptions).Load(dir);
    }

    [Fact]
    public void TheGeneratedFacadeSavesWhatTheFamilyDeclares()   // regression: model.Lora saved no task_type (and GPT-2's no fan_in_fan_out)
    {
        var gpt2 = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        gpt2.Lora.Attach();
        string dir = Path.Combine(Path.GetTempPath(), "loragen-ad-" + Guid.NewGuid().ToString("N"));
        gpt2.Lora.Save(dir);
        using (var files = AdapterDirectory.Open(dir))
        {
            Assert.Equal("CAUSAL_LM", files.Config.TaskType);
            Assert.True(files.Config.FanInFanOut);
        }
        // The facade also takes PEFT's own GPT-2 adapter (fan_in_fan_out: true), as LoraWith does.
        var fresh = (Gpt2LMHeadModel)HfModels.Load(Fixtures.Dir("gpt2"));
        fresh.Lora.Load(Path.Combine(Fixtures.Dir("gpt2"), "adapter"));
        Assert.Equal(4, fresh.Lora.Targets().Count);

        var llama = (LlamaForCausalLM)HfModels.Load(Fixtures.Dir("llama"));
        llama.Lora.Attach();
        string dir2 = Path.Combine(Path.GetTempPath(), "loragen-ad-" + Guid.NewGuid().ToString("N"));
        llama.Lora.Save(dir2);
        using (var files = AdapterDirectory.Open(dir2))
        {
            Assert.Equal("CAUSAL_LM", files.Config.TaskType);
            Assert.False(files.Config.FanInFanOut);
        }
        Assert.Equal(gpt2.DefaultLoraOptions, gpt2.Lora.Options);
        Assert.Equal(llama.DefaultLoraOptions, llama.Lora.Options);
    }

    [Fact]
    public void LlamaAdaptersSayNoFanInFanOutAndRefuseOneThatDoes()
    {
        var llama = (LlamaForCausalLM)HfModels.Load(Fixtures.Dir("llama"));
        var lora = llama.LoraWith(LlamaForCausalLM.LoraOptions);
        lora.Attach();
        string dir = Path.Combine(Path.GetTempPath(), "loragen-ad-" + Guid.NewGuid().ToString("N"));
        lora.Save(dir);
        using (var files = AdapterDirectory.Open(dir))
        {
            Assert.False(files.Config.FanInFanOut);
            Assert.Equal("CAUSAL_LM", files.Config.TaskType);
        }
        // GPT-2's adapter says fan_in_fan_out: a model of plain Linear layers refuses it by name.
        var fresh = (LlamaForCausalLM)HfModels.Load(Fixtures.Dir("llama"));
        var e = Assert.Throws<LoraAdapterException>(() => fresh.LoraWith(LlamaForCausalLM.LoraOptions).Load(Path.Combine(Fixtures.Dir("gpt2"), "adapter")));
        Assert.Contains("fan_in_fan_out", e.Message);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void MergedModelSavesInTheSourceLayoutAndReloads(string name)
    {
        var model = HfModels.Load(Fixtures.Dir(name));
        var lora = model.LoraWith((model is Gpt2LMHeadModel ? Gpt2LMHeadModel.LoraOptions : LlamaForCausalLM.LoraOptions));
        lora.Attach(seed: 3);
        // Give B non-zero values so the merge changes W.
        foreach (var p in lora.Parameters()) if (p.Dim(1) == 8) new Tensors.Rng(5).FillNormal(p.Data, 0, 0.1f);
        var ids = Fixtures.Prompts(name)[1];
        float[] before;
        using (GradMode.NoGrad()) before = model.Forward(ids, 1, ids.Length).ToArray();
        lora.MergeAndUnload();
        string outDir = Path.Combine(Path.GetTempPath(), "loragen-merged-" + Guid.NewGuid().ToString("N"));
        model.SavePretrained(outDir, Fixtures.Dir(name));
        var source = Directory.EnumerateFiles(Fixtures.Dir(name), "*.safetensors").Select(Path.GetFileName).Where(f => f != "reference.safetensors").Order();
        Assert.Equal(source, Directory.EnumerateFiles(outDir, "*.safetensors").Select(Path.GetFileName).Order());
        var reloaded = HfModels.Load(outDir);
        float[] after;
        using (GradMode.NoGrad()) after = reloaded.Forward(ids, 1, ids.Length).ToArray();
        float diff = Fixtures.MaxAbsDiff(before, after);
        output.WriteLine($"{name}: merged+saved+reloaded vs unmerged max |Δ| {diff:E2} (file dtype rounding included)");
        Assert.True(diff < (name == "llama" ? 0.2f : 1e-4f), $"{diff}");   // llama's file is bf16: W+ΔW is rounded on save
        Assert.NotEqual(Fixtures.Logits(name, 1), after);
    }

    [Fact]
    public void LoraFineTuningLowersTheLoss()
    {
        var model = HfModels.Load(Fixtures.Dir("llama"));
        var lora = model.LoraWith(LlamaForCausalLM.LoraOptions);
        lora.Attach(seed: 1);
        model.Train();
        var opt = new AdamW(lora.Parameters(), lr: 1e-2f);
        int[] seq = [5, 9, 14, 5, 9, 14, 5, 9, 14, 5, 9, 14, 5, 9, 14, 5];
        int[] input = seq[..^1], target = seq[1..];
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            var loss = model.Forward(input, 1, input.Length).Reshape(input.Length, model.Config.VocabSize).CrossEntropy(target);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            model.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        output.WriteLine($"loss {first} → {last}");
        Assert.True(last < first * 0.5f, $"loss {first} → {last}");
    }
}
