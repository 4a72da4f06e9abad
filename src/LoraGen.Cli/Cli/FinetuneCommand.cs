using System.CommandLine;
using System.Globalization;
using System.Text;
using LoraGen.Families;
using LoraGen.IO;
using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.Plotting;
using LoraGen.Tokenization;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen finetune MODEL --data FILE -o ADAPTER_DIR [--rank R] [--alpha A] [--targets q_proj,v_proj] [--lr LR]
/// [--steps N] [--seq-len T] [--batch B] [--merge DIR] [--log LOG.jsonl] [--plot loss.png] [--base-dtype f32|bf16]</c>: LoRA fine-tuning of a
/// Hugging Face model on the managed runtime. Progress shows loss, validation loss and tokens/s; the adapter is saved
/// in PEFT's layout with <c>base_model_name_or_path</c> and <c>target_modules</c> in transformers' names.
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Argument<string>("model") { Description = "Hugging Face model directory (config.json, safetensors, tokenizer files)" };
        var data = new Option<string>("--data") { Description = "training text: a .txt file, or .jsonl with {\"text\": …} per line", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "adapter directory to write (PEFT layout)", Required = true };
        var rank = new Option<int>("--rank", "-r") { DefaultValueFactory = _ => 8, Description = "LoRA rank" };
        var alpha = new Option<double?>("--alpha") { Description = "LoRA α (default 2·rank)" };
        var targets = new Option<string?>("--targets") { Description = "comma-separated module names (default: the family's, c_attn / q_proj,v_proj)" };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => 2e-4f, Description = "AdamW learning rate" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 100, Description = "optimizer steps" };
        var seqLen = new Option<int>("--seq-len") { DefaultValueFactory = _ => 128, Description = "tokens per sequence" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 1, Description = "sequences per step" };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => 10, Description = "validation loss every N steps" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "seed of A's init and of the batches" };
        var merge = new Option<string?>("--merge") { Description = "also write the merged model to this directory (transformers layout)" };
        var log = new Option<string?>("--log") { Description = "write the training log (JSONL: step, loss, val_loss, tokens_per_s)" };
        var plot = new Option<string?>("--plot") { Description = "write the loss curve (.png or .svg)" };
        var force = new Option<bool>("--force") { Description = "replace existing outputs" };
        var baseDType = BaseDTypeOption.Create();
        var cmd = new Command("finetune", "LoRA fine-tune a Hugging Face model (GPT-2, Llama) and save a PEFT adapter.")
            { model, data, output, rank, alpha, targets, lr, steps, seqLen, batch, evalEvery, seed, merge, log, plot, force, baseDType };
        cmd.SetAction(p => Run(ctx, new Settings(p.GetValue(model)!, p.GetValue(data)!, p.GetValue(output)!, p.GetValue(rank), p.GetValue(alpha),
            p.GetValue(targets), p.GetValue(merge), p.GetValue(log), p.GetValue(plot), p.GetValue(force), p.GetValue(seed),
            new FineTuneOptions
            {
                Steps = p.GetValue(steps), LearningRate = p.GetValue(lr), SequenceLength = p.GetValue(seqLen), BatchSize = p.GetValue(batch),
                EvalEvery = p.GetValue(evalEvery), Seed = p.GetValue(seed),
            }) { BaseFormat = BaseDTypeOption.Parse(p.GetValue(baseDType)!) }));
        return cmd;
    }

    internal sealed record Settings(string ModelDir, string Data, string Output, int Rank, double? Alpha, string? Targets, string? Merge,
        string? Log, string? Plot, bool Force, int Seed, FineTuneOptions Options)
    {
        /// <summary>The format the frozen base's Linear weights are kept in (<c>--base-dtype</c>).</summary>
        public BaseFormat BaseFormat { get; init; } = BaseFormat.Fp32;
    }

    public static int Run(CliContext ctx, Settings s)
    {
        s.Options.Validate();
        if (s.Rank < 1) throw new CliException(ExitCodes.Usage, $"--rank must be ≥ 1, got {s.Rank}.");
        if (!s.Force && AdapterDirectory.Exists(s.Output)) throw new CliException(ExitCodes.OutputExists, $"{s.Output}: an adapter exists there; pass --force to replace it.");
        if (!s.Force && s.Merge is not null && Directory.Exists(s.Merge) && Directory.EnumerateFileSystemEntries(s.Merge).Any())
            throw new CliException(ExitCodes.OutputExists, $"{s.Merge}: the directory is not empty; pass --force to write into it.");
        if (s.Plot is not null && Path.GetExtension(s.Plot).ToLowerInvariant() is not ".png" and not ".svg")
            throw new CliException(ExitCodes.Usage, $"{s.Plot}: the plot must end in .png or .svg.");
        var (model, _) = ModelInput.Load(s.ModelDir, null, s.BaseFormat);
        var tokenizer = HfTokenizer.Load(s.ModelDir);
        var tokens = FineTuneData.Tokens(s.Data, tokenizer);
        var defaults = model.DefaultLoraOptions;
        var targets = s.Targets?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? defaults.Targets.ToArray();
        var options = defaults with
        {
            Defaults = new LoraConfig(s.Rank, s.Alpha ?? 2.0 * s.Rank),
            Targets = targets,
            BaseModelName = s.ModelDir,
        };
        var lora = model.LoraWith(options);
        lora.Attach(seed: (ulong)s.Seed);
        ctx.Console.MarkupLineInterpolated($"{model.Config.ModelType}: {tokens.Count} tokens, LoRA r {s.Rank} on {lora.Targets().Count} layers ({string.Join(", ", targets)}), {lora.Parameters().Sum(p => (long)p.Size)} trainable parameters");

        var log = new StringBuilder();
        var steps = new List<FineTuneStep>();
        void Record(FineTuneStep step)
        {
            steps.Add(step);
            log.Append(CultureInfo.InvariantCulture, $"{{\"step\": {step.Step}, \"loss\": {step.Loss:R}, \"tokens_per_s\": {step.TokensPerSecond:F1}");
            if (step.ValidationLoss is { } v) log.Append(CultureInfo.InvariantCulture, $", \"val_loss\": {v:R}");
            log.Append("}\n");
        }
        string Line(FineTuneStep st) => string.Create(CultureInfo.InvariantCulture,
            $"step {st.Step}/{s.Options.Steps}  loss {st.Loss:F4}{(st.ValidationLoss is { } v ? $"  val {v:F4}" : "")}  {st.TokensPerSecond:F0} tok/s");
        if (ctx.Interactive)
            ctx.Console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(pc =>
                {
                    var task = pc.AddTask("training", maxValue: s.Options.Steps);
                    LoraFineTuner.Train(model, lora, tokens, s.Options, st =>
                    {
                        Record(st);
                        task.Description = Markup.Escape(Line(st));
                        task.Increment(1);
                    });
                });
        else
            LoraFineTuner.Train(model, lora, tokens, s.Options, st =>
            {
                Record(st);
                if (st.ValidationLoss is not null) ctx.Output.WriteLine(Line(st));
            });

        lora.Save(s.Output);
        ctx.Console.MarkupLineInterpolated($"adapter to [blue]{s.Output}[/] (loss {steps[0].Loss:F4} → {steps[^1].Loss:F4})");
        if (s.Log is not null) AtomicFile.WriteAllText(s.Log, log.ToString());
        if (s.Plot is not null)
        {
            var series = new List<PlotSeries> { new("train", steps.Select(x => (double)x.Step).ToArray(), steps.Select(x => x.Loss).ToArray()) };
            var val = steps.Where(x => x.ValidationLoss is not null).ToList();
            if (val.Count > 0) series.Add(new("validation", val.Select(x => (double)x.Step).ToArray(), val.Select(x => x.ValidationLoss!.Value).ToArray()));
            TrainingPlot.Save(s.Plot, $"LoRA fine-tuning of {Path.GetFileName(Path.GetFullPath(s.ModelDir))}", "step", "loss", series);
        }
        if (s.Merge is not null)
        {
            lora.MergeAndUnload();
            model.SavePretrained(s.Merge, s.ModelDir);
            ctx.Console.MarkupLineInterpolated($"merged model to [blue]{s.Merge}[/]");
        }
        return ExitCodes.Ok;
    }
}
