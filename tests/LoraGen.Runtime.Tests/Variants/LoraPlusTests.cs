using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>LoRA+: PEFT's four parameter groups, and B stepping λ times further than A.</summary>
public class LoraPlusTests
{
    /// <summary>An embedding and a biased projection, both adapted with DoRA, biases of adapted layers trained.</summary>
    private sealed class EmbedProj : Module
    {
        public EmbedProj()
        {
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with
            {
                Defaults = new LoraConfig(2, 2, UseDora: true), Bias = LoraBias.LoraOnly, Targets = ["wte", "proj"],
            });
        }

        public Embedding Wte { get; } = new(10, 6, new Rng(1));

        public Linear Proj { get; } = new(6, 4, rng: new Rng(2));

        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("wte", Wte);
            yield return ("proj", Proj);
        }
    }

    [Fact]
    public void GroupsFollowPeftsSplit()
    {
        var model = new EmbedProj();
        model.Lora.Attach(seed: 1);
        var groups = LoraPlus.Groups(model.Lora, lr: 1e-3f, weightDecay: 0.1f).ToDictionary(g => g.Name!);
        Assert.Equal(["embedding", "groupA", "groupB", "groupB_no_decay"], groups.Keys.Order());
        var proj = model.Proj.Lora!.Adapters["default"];
        var wte = model.Wte.Lora!.Adapters["default"];
        Assert.Equal([proj.A], groups["groupA"].Params);
        Assert.Equal([proj.B, proj.Magnitude!], groups["groupB"].Params);
        Assert.Equal([model.Proj.Bias!], groups["groupB_no_decay"].Params);
        Assert.Equal([wte.A, wte.B, wte.Magnitude!], groups["embedding"].Params);
        Assert.Equal(1e-3f, groups["groupA"].Lr);
        Assert.Equal(16e-3f, groups["groupB"].Lr);
        Assert.Equal(16e-3f, groups["groupB_no_decay"].Lr);
        Assert.Equal(0f, groups["groupB_no_decay"].WeightDecay);
        Assert.Equal(0.1f, groups["groupB"].WeightDecay);
        Assert.Equal(LoraPlus.DefaultEmbeddingLr, groups["embedding"].Lr);
        Assert.Equal(model.Lora.Parameters().Count(), groups.Values.Sum(g => g.Params.Count));
        Assert.Throws<ArgumentException>(() => LoraPlus.Groups(model.Lora, lr: 1e-3f, lrRatio: 0f));
    }

    [Fact]
    public void BStepsRatioTimesFurtherThanA()
    {
        // Adam's first step moves every parameter by lr·g/(|g| + ε) ≈ ±lr, so B's steps are λ times A's.
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 2);
        foreach (var p in model.Lora.Parameters()) new Rng(3).FillNormal(p.Data, 0, 0.5f);
        var before = model.Lora.Parameters().Select(p => p.ToArray()).ToList();
        var opt = LoraPlus.CreateOptimizer(model.Lora, lr: 1e-3f, lrRatio: 8f);
        model.Forward(Tensor.Randn(new Rng(4), 1, 5, TwoProjModel.In)).Sum().Backward();
        opt.Step();
        var ps = model.Lora.Parameters().ToList();
        for (int k = 0; k < ps.Count; k++)
        {
            bool isB = model.Q.Lora!.Adapters["default"].B == ps[k] || model.V.Lora!.Adapters["default"].B == ps[k];
            float expected = isB ? 8e-3f : 1e-3f;
            for (int i = 0; i < ps[k].Size; i++)
            {
                float step = Math.Abs(ps[k].Data[i] - before[k][i]);
                if (ps[k].Grad!.Data[i] != 0) Assert.InRange(step, expected * 0.99f, expected * 1.01f);
            }
        }
    }
}
