using System.Diagnostics;
using LoraGen.Autograd;
using LoraGen.Lora;
using LoraGen.Ops;
using LoraGen.Optim;

namespace LoraGen.Families;

/// <summary>
/// Next-token LoRA fine-tuning of a family on a token stream: random windows of the training part, AdamW on the
/// adapter's A and B, mean loss over fixed windows of the validation part. The base stays frozen.
/// </summary>
public static class LoraFineTuner
{
    /// <summary>
    /// Trains the active adapter of <paramref name="lora"/> on <paramref name="tokens"/>; <paramref name="onStep"/> sees
    /// every step. Returns the steps.
    /// </summary>
    public static IReadOnlyList<FineTuneStep> Train(CausalLmModule model, LoraModelController lora, IReadOnlyList<int> tokens,
        FineTuneOptions options, Action<FineTuneStep>? onStep = null)
    {
        options.Validate();
        int seq = Math.Min(options.SequenceLength, model.Config.MaxPositions);
        int valCount = (int)(tokens.Count * options.ValidationFraction);
        var train = tokens.Take(tokens.Count - valCount).ToArray();
        var val = tokens.Skip(tokens.Count - valCount).ToArray();
        seq = Math.Min(seq, train.Length - 1);
        if (seq < 1) throw new ArgumentException($"the training data has {train.Length} tokens; at least 2 are needed.");
        var parameters = lora.Parameters().ToList();
        if (parameters.Count == 0) throw new InvalidOperationException("no trainable adapter: Attach one (or Load with isTrainable) first.");
        var opt = new AdamW(parameters, lr: options.LearningRate);
        var rng = new Random(options.Seed);
        var steps = new List<FineTuneStep>();
        int b = options.BatchSize;
        for (int step = 1; step <= options.Steps; step++)
        {
            var sw = Stopwatch.StartNew();
            model.Train();
            var input = new int[b * seq];
            var target = new int[b * seq];
            for (int i = 0; i < b; i++)
            {
                int start = rng.Next(0, train.Length - seq);
                Array.Copy(train, start, input, i * seq, seq);
                Array.Copy(train, start + 1, target, i * seq, seq);
            }
            var loss = model.Forward(input, b, seq).Reshape(b * seq, model.Config.VocabSize).CrossEntropy(target);
            double value = loss.Item();
            model.ZeroGrad();
            loss.Backward();
            opt.Step();
            double tps = b * seq / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
            double? valLoss = (step % options.EvalEvery == 0 || step == options.Steps) ? Validate(model, val, seq) : null;
            var s = new FineTuneStep(step, value, tps, valLoss);
            steps.Add(s);
            onStep?.Invoke(s);
        }
        model.Eval();
        return steps;
    }

    /// <summary>Mean next-token loss over consecutive windows of <paramref name="val"/> (at most 8), or null when it is too short.</summary>
    public static double? Validate(CausalLmModule model, int[] val, int seq)
    {
        seq = Math.Min(seq, val.Length - 1);
        if (seq < 1) return null;
        model.Eval();
        using var _ = GradMode.NoGrad();
        double sum = 0;
        int windows = 0;
        for (int start = 0; start + seq < val.Length && windows < 8; start += seq, windows++)
            sum += model.Forward(val[start..(start + seq)], 1, seq).Reshape(seq, model.Config.VocabSize).CrossEntropy(val[(start + 1)..(start + seq + 1)]).Item();
        model.Train();
        return windows == 0 ? null : sum / windows;
    }
}
