using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Peft;
using LoraGen.Runtime.Tests.Hardening;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests;

/// <summary>LoRA-FA: A frozen after initialization, only B trains; the file stays a plain LoRA adapter.</summary>
public sealed class LoraFaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-lorafa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void FrozenAGivesBTheFiniteDifferenceGradientAndANone()
    {
        var rng = new Rng(31);
        var x = Tensor.Randn(rng, 1f, 5, 9);
        var y = Tensor.Randn(rng, 1f, 5, 7);
        var a = Tensor.Randn(rng, 0.5f, 3, 9);
        var b = GradCheckTests.Input(rng, 7, 3);
        GradCheckTests.GradCheck(t => LoraOps.LoraLinear(x, y, a, t[0], 1.5f, 0f, new Rng(1), training: true), b);
        Assert.Null(a.Grad);
    }

    [Fact]
    public void WithDropoutBAndXGetTheSameGradientsAsFullLora()
    {
        var rng = new Rng(32);
        var x0 = Tensor.Randn(rng, 1f, 2, 6, 11);
        var y = Tensor.Randn(rng, 1f, 2, 6, 8);
        var a0 = Tensor.Randn(rng, 0.5f, 4, 11);
        var b0 = Tensor.Randn(rng, 0.5f, 8, 4);
        var g = Tensor.Randn(rng, 1f, 2, 6, 8);
        (Tensor Out, Tensor X, Tensor A, Tensor B) Run(bool freezeA)
        {
            var (x, a, b) = (x0.Clone(), a0.Clone(), b0.Clone());
            x.RequiresGrad = b.RequiresGrad = true;
            a.RequiresGrad = !freezeA;
            var o = LoraOps.LoraLinear(x, y, a, b, 2f, 0.3f, new Rng(77), training: true);
            o.Backward(g.Clone());
            return (o, x, a, b);
        }
        var full = Run(freezeA: false);
        var fa = Run(freezeA: true);
        Assert.Equal(full.Out.ToArray(), fa.Out.ToArray());
        Assert.Equal(full.B.Grad!.ToArray(), fa.B.Grad!.ToArray());
        Assert.Equal(full.X.Grad!.ToArray(), fa.X.Grad!.ToArray());   // the dropout mask is still applied to dx
        Assert.NotNull(full.A.Grad);
        Assert.Null(fa.A.Grad);
    }

    [Fact]
    public void AttachWithFreezeATrainsOnlyBAndSavesAPlainLoraAdapter()
    {
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 3, config: new LoraOverride { FreezeA = true });
        var parameters = model.Lora.Parameters().ToList();
        Assert.Equal(2, parameters.Count);   // the two B matrices
        Assert.All(parameters, p => Assert.Equal(TwoProjModel.Out, p.Dim(0)));   // B [out, r]
        var slots = new[] { model.Q.Lora!, model.V.Lora! }.Select(l => l.Adapters["default"]).ToArray();
        var a0 = slots.Select(s => s.A.ToArray()).ToArray();

        var rng = new Rng(4);
        var x = Tensor.Randn(rng, 1f, 12, TwoProjModel.In);
        var target = Tensor.Randn(rng, 1f, 12, TwoProjModel.Out);
        var opt = new AdamW(parameters, lr: 2e-2f, weightDecay: 0f);
        float first = 0, last = 0;
        for (int step = 0; step < 25; step++)
        {
            opt.ZeroGrad();
            var d = model.Forward(x).Sub(target);
            var loss = d.Mul(d).Mean();
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < first, $"loss {first} -> {last}");
        for (int i = 0; i < slots.Length; i++)
        {
            Assert.Equal(a0[i], slots[i].A.ToArray());
            Assert.Null(slots[i].A.Grad);
            Assert.Contains(slots[i].B.ToArray(), v => v != 0f);
        }

        model.Lora.Save(_dir);
        using (var file = SafetensorsFile.Open(Path.Combine(_dir, AdapterKeys.WeightsFile)))
            Assert.Equal(4, file.Tensors.Count);   // lora_A and lora_B of both layers, nothing else
        var loaded = new TwoProjModel();
        loaded.Lora.Load(_dir);
        using var _ = GradMode.NoGrad();
        Assert.Equal(model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
    }
}
