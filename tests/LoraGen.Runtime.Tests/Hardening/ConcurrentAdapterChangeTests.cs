using System.Diagnostics;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Runtime.Tests.Hardening;

/// <summary>
/// Issue 17 item 10: adapter changes (Load, Delete, Merge, Unmerge, SetActive) on one thread while another trains the
/// same model. The only exceptions allowed are the documented refusals; whenever no adapter is merged the base weights
/// are bit-identical to the start.
/// </summary>
public sealed class ConcurrentAdapterChangeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("loragen-threads-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Config = """{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["q_proj","v_proj"]}""";

    /// <summary>The documented refusals: an optimizer step while merged, switching adapters while merged.</summary>
    private static bool IsDocumentedRefusal(Exception e) =>
        e is InvalidOperationException && (e.Message.StartsWith("Cannot step:", StringComparison.Ordinal) || e.Message.StartsWith("Unmerge before switching adapters", StringComparison.Ordinal));

    [Fact]
    public void TrainingWhileAnotherThreadChangesAdaptersKeepsTheBaseIntact()
    {
        TwoProjModel.WriteAdapter(_dir, Config);
        var model = new TwoProjModel();
        model.Lora.Attach(seed: 5);
        var baseW = model.BaseWeights();
        var opt = new Sgd(model.Lora.Parameters().ToList(), lr: 0.01f);
        var x = Tensor.Randn(new Rng(3), 1, 4, TwoProjModel.In);
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var budget = Stopwatch.StartNew();
        int steps = 0, operations = 0, mismatches = 0;
        using var stop = new CancellationTokenSource();

        var trainer = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    opt.ZeroGrad();
                    var loss = model.Forward(x).Sum();
                    if (loss.RequiresGrad) loss.Backward();
                    opt.Step();
                    steps++;
                }
                catch (Exception e) when (IsDocumentedRefusal(e)) { }
                catch (Exception e) { unexpected.Enqueue(e); }
            }
        });
        trainer.Start();

        var rng = new Random(1234);
        try
        {
            while (operations < 1500 && budget.Elapsed < TimeSpan.FromSeconds(20) && unexpected.IsEmpty)
            {
                try
                {
                    bool hasExtra = model.Lora.Names.Contains("extra");
                    switch (rng.Next(5))
                    {
                        case 0: if (!hasExtra) model.Lora.Load(_dir, "extra"); break;
                        case 1: if (hasExtra) model.Lora.Delete("extra"); break;
                        case 2: model.Lora.Merge(); break;
                        case 3: model.Lora.Unmerge(); break;
                        default: model.Lora.SetActive(hasExtra && rng.Next(2) == 0 ? "extra" : "default"); break;
                    }
                }
                catch (Exception e) when (IsDocumentedRefusal(e)) { }
                operations++;
                if (!model.Lora.IsMerged)
                {
                    var now = model.BaseWeights();
                    for (int i = 0; i < baseW.Length; i++)
                        if (!now[i].AsSpan().SequenceEqual(baseW[i])) { mismatches++; break; }
                }
            }
        }
        finally
        {
            stop.Cancel();
            trainer.Join();
        }
        Assert.Empty(unexpected);
        Assert.Equal(0, mismatches);
        Assert.True(operations >= 1000, $"only {operations} operations in the time budget");
        model.Lora.Unmerge();
        Assert.Equal(baseW, model.BaseWeights());
    }
}
