using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Torch;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using ManagedGpt = TinyGpt.Lora.Model.Gpt;
using ManagedGptConfig = TinyGpt.Lora.Model.GptConfig;
using Rng = LoraGen.Tensors.Rng;
using TorchGpt = TinyGpt.TorchSharp.Model.Gpt;
using TorchGptConfig = TinyGpt.TorchSharp.Model.GptConfig;

namespace LoraGen.TorchSharp.Tests.Parity;

/// <summary>
/// Cross-backend parity at model level: the real sample models, samples/TinyGpt.Lora (managed runtime) and
/// samples/TinyGpt.TorchSharp (generated TorchSharp backend), at the samples' full size, from one safetensors file of
/// base weights: the same logits, the same LoRA gradients, and adapters trained on one backend load on the other.
/// </summary>
public sealed class TinyGptParityTests : IDisposable
{
    private const int Batch = 2, T = 128;
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-tinygpt-parity-").FullName;
    private readonly ITestOutputHelper _log;
    private readonly int[] _x;
    private readonly int[] _y;

    public TinyGptParityTests(ITestOutputHelper log)
    {
        _log = log;
        var rng = new Rng(3);
        _x = new int[Batch * T];
        _y = new int[Batch * T];
        for (int i = 0; i < _x.Length; i++) { _x[i] = rng.NextInt(96); _y[i] = rng.NextInt(96); }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The managed sample model (seed 1) and the TorchSharp sample model loaded from its weights file.</summary>
    private (ManagedGpt Managed, TorchGpt Torch) Pair()
    {
        var managed = new ManagedGpt(new ManagedGptConfig(), new Rng(1));
        string path = Path.Combine(_dir, "base.safetensors");
        managed.SaveWeights(path);
        var torchModel = new TorchGpt(new TorchGptConfig());
        var match = TorchSafetensors.LoadWeights(torchModel, path);
        Assert.True(match.IsExact);
        managed.Eval();
        torchModel.eval();
        return (managed, torchModel);
    }

    /// <summary>Attaches LoRA on both and writes the managed side's A and (non-zero) B into the TorchSharp side, pairwise.</summary>
    private static void AttachSame(ManagedGpt managed, TorchGpt torchModel)
    {
        managed.Lora.Attach(seed: 5);
        torchModel.Lora.Attach();
        var rng = new Rng(9);
        var mp = managed.Lora.Parameters().ToList();
        var tp = torchModel.Lora.Parameters().ToList();
        Assert.Equal(16, mp.Count);   // A and B of q_proj and v_proj in 4 blocks
        Assert.Equal(mp.Count, tp.Count);
        using var _ = torch.no_grad();
        for (int i = 0; i < mp.Count; i++)
        {
            Assert.Equal(mp[i].Shape.ToArray().Select(d => (long)d), tp[i].shape);
            if (i % 2 == 1) rng.FillNormal(mp[i].Data, 0, 0.05f);   // B ≠ 0, so A gets a gradient too
            using var src = torch.tensor(mp[i].ToArray(), tp[i].shape);
            tp[i].copy_(src);
        }
    }

    private float[] ManagedLogits(ManagedGpt m)
    {
        using var _ = GradMode.NoGrad();
        return m.Forward(_x, Batch, T).ToArray();
    }

    private float[] TorchLogits(TorchGpt m)
    {
        using var _ = torch.no_grad();
        using var ids = Ids(_x);
        using var logits = m.call(ids);
        return logits.data<float>().ToArray();
    }

    private static Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), [Batch, T]);

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    [Fact]
    public void Same_weights_give_the_same_logits_base_and_with_LoRA()
    {
        var (managed, torchModel) = Pair();
        double baseDiff = MaxAbsDiff(ManagedLogits(managed), TorchLogits(torchModel));
        AttachSame(managed, torchModel);
        var withLora = ManagedLogits(managed);
        double loraDiff = MaxAbsDiff(withLora, TorchLogits(torchModel));
        _log.WriteLine($"max |Δ logits|: base {baseDiff:E2}, with LoRA {loraDiff:E2}");
        Assert.True(baseDiff <= 1e-5, $"base logits differ by {baseDiff:E2}");
        Assert.True(loraDiff <= 1e-5, $"LoRA logits differ by {loraDiff:E2}");
        // The adapter is live on both sides (B ≠ 0 moved the logits), so the comparison covers the LoRA path.
        using (managed.Lora.Disable()) Assert.True(MaxAbsDiff(withLora, ManagedLogits(managed)) > 1e-3);
    }

    [Fact]
    public void LoRA_gradients_agree_for_one_step_and_after_it()
    {
        var (managed, torchModel) = Pair();
        AttachSame(managed, torchModel);
        managed.Train();
        torchModel.train();
        var mp = managed.Lora.Parameters().ToList();
        var tp = torchModel.Lora.Parameters().ToList();
        var mopt = new LoraGen.Optim.Sgd(mp, lr: 0.5f);
        var topt = optim.SGD(tp, 0.5);
        using var xs = Ids(_x);
        using var ys = Ids(_y);
        for (int step = 0; step < 2; step++)
        {
            mopt.ZeroGrad();
            var mloss = managed.Forward(_x, Batch, T).CrossEntropy(_y);
            mloss.Backward();
            topt.zero_grad();
            using var logits = torchModel.call(xs);
            using var tloss = nn.functional.cross_entropy(logits.reshape(-1, 96), ys.reshape(-1));
            tloss.backward();

            double lossDiff = Math.Abs(mloss.Item() - tloss.item<float>());
            double gradDiff = 0, gradMax = 0;
            for (int i = 0; i < mp.Count; i++)
            {
                var mg = mp[i].Grad!.ToArray();
                var tg = tp[i].grad!.data<float>().ToArray();
                gradDiff = Math.Max(gradDiff, MaxAbsDiff(mg, tg));
                gradMax = Math.Max(gradMax, mg.Max(Math.Abs));
            }
            _log.WriteLine($"step {step + 1}: |Δ loss| {lossDiff:E2}, max |Δ LoRA grad| {gradDiff:E2} (largest grad {gradMax:E2})");
            Assert.True(lossDiff <= 1e-5, $"step {step + 1}: losses differ by {lossDiff:E2}");
            Assert.True(gradDiff <= 1e-4, $"step {step + 1}: LoRA gradients differ by {gradDiff:E2}");
            Assert.True(gradMax > 1e-3, "the gradients are not all near zero");
            mopt.Step();
            topt.step();
        }
    }

    [Fact]
    public void An_adapter_trained_on_either_backend_loads_on_the_other_with_equal_outputs()
    {
        // TorchSharp trains (AdamW, 3 steps) and saves; the managed sample model loads it.
        var (managed, torchModel) = Pair();
        torchModel.Lora.Attach(seed: 3);
        torchModel.train();
        var opt = optim.AdamW(torchModel.Lora.Parameters(), lr: 1e-2);
        using (var xs = Ids(_x))
        using (var ys = Ids(_y))
        {
            for (int i = 0; i < 3; i++)
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                nn.functional.cross_entropy(torchModel.call(xs).reshape(-1, 96), ys.reshape(-1)).backward();
                opt.step();
            }
        }
        torchModel.eval();
        torchModel.Lora.Save(Path.Combine(_dir, "from-torch"));
        managed.Lora.Load(Path.Combine(_dir, "from-torch"));
        var trainedOnTorch = TorchLogits(torchModel);
        double toManaged = MaxAbsDiff(trainedOnTorch, ManagedLogits(managed));

        // The managed runtime trains (AdamW, 3 steps) and saves; a fresh TorchSharp sample model loads it.
        var (managed2, torch2) = Pair();
        managed2.Lora.Attach(seed: 4);
        managed2.Train();
        var mopt = new LoraGen.Optim.AdamW(managed2.Lora.Parameters(), lr: 1e-2f);
        for (int i = 0; i < 3; i++)
        {
            mopt.ZeroGrad();
            managed2.Forward(_x, Batch, T).CrossEntropy(_y).Backward();
            mopt.Step();
        }
        managed2.Eval();
        managed2.Lora.Save(Path.Combine(_dir, "from-managed"));
        torch2.Lora.Load(Path.Combine(_dir, "from-managed"));
        double toTorch = MaxAbsDiff(ManagedLogits(managed2), TorchLogits(torch2));

        _log.WriteLine($"max |Δ logits|: TorchSharp-trained adapter on managed {toManaged:E2}; managed-trained adapter on TorchSharp {toTorch:E2}");
        Assert.True(toManaged <= 1e-5, $"TorchSharp-trained adapter: logits differ by {toManaged:E2} on the managed backend");
        Assert.True(toTorch <= 1e-5, $"managed-trained adapter: logits differ by {toTorch:E2} on the TorchSharp backend");
        // Training moved the adapters away from the base (the loads carried something).
        using (managed.Lora.Disable()) Assert.True(MaxAbsDiff(trainedOnTorch, ManagedLogits(managed)) > 1e-3);
    }
}
