using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Optim;
using LoraGen.Tensors;
using Spectre.Console;
using TinyGpt.Lora.Model;

namespace TinyGpt.Lora;

/// <summary>The training loop, evaluation and sampling shared by the sample's phases.</summary>
public static class Training
{
    /// <summary>
    /// The training log, one JSON object per step across every <see cref="Run"/> (<c>step</c> counts on through the
    /// phases): <c>{"step", "phase", "loss", "lr", "tokens_per_s"}</c>, the JSONL that <c>loragen plot</c> reads;
    /// <see cref="LossChart.Write"/> saves it next to the chart.
    /// </summary>
    internal static readonly List<string> LogLines = [];

    /// <summary>
    /// Trains <paramref name="steps"/> steps on <paramref name="data"/>, with a live progress bar; returns the loss of each
    /// step. <paramref name="onSecondStep"/> gets the second step's loss before its backward pass (the graph is still
    /// recorded, and the first step allocated the gradients and the optimizer's state): the moment to count memory.
    /// </summary>
    public static List<float> Run(string title, Gpt model, Optimizer optimizer, Dataset data, int steps, int batch, Rng rng, float warmupFraction = 0.1f,
        Action<Tensor>? onSecondStep = null)
    {
        var losses = new List<float>(steps);
        int t = model.Config.Context;
        var schedule = new CosineSchedule((int)(steps * warmupFraction), steps, minFactor: 0.1f);
        var trainable = optimizer.Groups.SelectMany(g => g.Params).ToList();
        var clock = Stopwatch.StartNew();
        model.Train();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title, maxValue: steps);
                for (int step = 0; step < steps; step++)
                {
                    schedule.Apply(optimizer, step);
                    var (x, y) = data.Batch(rng, batch, t);
                    optimizer.ZeroGrad();
                    var loss = model.Forward(x, batch, t).CrossEntropy(y);
                    if (step == 1) onSecondStep?.Invoke(loss);
                    loss.Backward();
                    GradClip.ClipGradNorm(trainable, 1f);
                    optimizer.Step();
                    losses.Add(loss.Item());
                    double tokensPerSecond = (step + 1.0) * batch * t / clock.Elapsed.TotalSeconds;
                    task.Description = $"{title} [grey]step[/] {step + 1,4}/{steps} [grey]loss[/] {loss.Item():F3} [grey]tok/s[/] {tokensPerSecond:N0}";
                    LogLines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{{\"step\":{LogLines.Count + 1},\"phase\":\"{JsonEncodedText.Encode(Markup.Remove(title))}\",\"loss\":{loss.Item():R},\"lr\":{optimizer.Groups[0].Lr:R},\"tokens_per_s\":{tokensPerSecond:F1}}}"));
                    task.Increment(1);
                }
            });
        return losses;
    }

    /// <summary>Mean cross-entropy over <paramref name="batches"/> fixed validation batches.</summary>
    public static float Evaluate(Gpt model, Dataset data, int batches, int batch, ulong seed)
    {
        using var _ = GradMode.NoGrad();
        model.Eval();
        var rng = new Rng(seed);
        int t = model.Config.Context;
        double total = 0;
        for (int i = 0; i < batches; i++)
        {
            var (x, y) = data.Batch(rng, batch, t, validation: true);
            total += model.Forward(x, batch, t).CrossEntropy(y).Item();
        }
        model.Train();
        return (float)(total / batches);
    }

    /// <summary>Continues <paramref name="prompt"/> by <paramref name="length"/> tokens, sampling at <paramref name="temperature"/> with a fixed seed.</summary>
    public static (string Text, float[] FirstLogits) Generate(Gpt model, WordTokenizer tokenizer, string prompt, int length, float temperature, ulong seed)
    {
        using var _ = GradMode.NoGrad();
        model.Eval();
        var rng = new Rng(seed);
        var ids = tokenizer.Encode(prompt).ToList();
        float[]? first = null;
        for (int n = 0; n < length; n++)
        {
            var context = ids.Skip(Math.Max(0, ids.Count - model.Config.Context)).ToArray();
            var logits = model.Forward(context, 1, context.Length);
            int v = model.Config.Vocab;
            var last = logits.Data.Slice((context.Length - 1) * v, v).ToArray();
            first ??= last;
            ids.Add(Sample(last, temperature, rng));
        }
        model.Train();
        return (tokenizer.Decode(ids), first!);
    }

    private static int Sample(float[] logits, float temperature, Rng rng)
    {
        float max = logits.Max();
        var p = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double u = rng.NextFloat() * p.Sum(), acc = 0;
        for (int i = 0; i < p.Length; i++)
        {
            acc += p[i];
            if (u < acc) return i;
        }
        return p.Length - 1;
    }
}
