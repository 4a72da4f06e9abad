using System.CommandLine;
using LoraGen.Autograd;
using LoraGen.Nn;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen logits MODEL --ids 1,17,42 [--adapter DIR] [--base-dtype f32|bf16] -o out.safetensors</c>: the F32 tensor <c>logits</c>
/// [T, vocab] of a Hugging Face model (GPT-2, Llama) for those token ids, with a PEFT adapter applied unmerged when
/// given. The hook parity scripts use.
/// </summary>
internal static class LogitsCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Argument<string>("model") { Description = "Hugging Face model directory (config.json + safetensors)" };
        var ids = new Option<string>("--ids") { Description = "comma-separated token ids, e.g. 1,17,42", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter directory to apply (unmerged)" };
        var output = new Option<string>("--output", "-o") { Description = "output .safetensors (tensor \"logits\" [T, vocab], F32)", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var baseDType = BaseDTypeOption.Create();
        var cmd = new Command("logits", "Write a model's logits for given token ids (F32 [T, vocab]) to safetensors.") { model, ids, adapter, output, force, baseDType };
        cmd.SetAction(p => Run(ctx, p.GetValue(model)!, p.GetValue(ids)!, p.GetValue(adapter), p.GetValue(output)!, p.GetValue(force),
            BaseDTypeOption.Parse(p.GetValue(baseDType)!)));
        return cmd;
    }

    public static int Run(CliContext ctx, string modelDir, string idsText, string? adapterDir, string outputPath, bool force,
        BaseFormat baseFormat = BaseFormat.Fp32)
    {
        var (model, _) = ModelInput.Load(modelDir, adapterDir, baseFormat);
        var ids = ModelInput.ParseIds(idsText, model.Config.VocabSize);
        if (ids.Length > model.Config.MaxPositions) throw new CliException(ExitCodes.Usage, $"--ids: {ids.Length} tokens; the model holds at most {model.Config.MaxPositions}.");
        float[] logits;
        using (GradMode.NoGrad()) logits = model.Forward(ids, 1, ids.Length).ToArray();
        using var target = OutputTarget.Begin(outputPath, force, directory: false);
        SafetensorsWriter.Save(target.TempPath, [SafetensorsEntry.FromFloats("logits", [ids.Length, model.Config.VocabSize], logits)]);
        target.Commit();
        ctx.Console.MarkupLineInterpolated($"logits [[{ids.Length}, {model.Config.VocabSize}]] of {model.Config.ModelType}{(adapterDir is null ? "" : " + adapter")} to [blue]{outputPath}[/]");
        return ExitCodes.Ok;
    }
}
