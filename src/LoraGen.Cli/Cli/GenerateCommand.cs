using System.CommandLine;
using LoraGen.Families;
using LoraGen.Generation;
using LoraGen.Nn;
using LoraGen.Tokenization;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen generate MODEL --prompt "..." [--adapter DIR] [--max-tokens N] [--temperature T] [--top-k K]
/// [--top-p P] [--seed S] [--base-dtype f32|bf16]</c>: continues the prompt with the model's tokenizer and a KV cache; stops at the
/// end-of-sequence token.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(CliContext ctx)
    {
        var model = new Argument<string>("model") { Description = "Hugging Face model directory (config.json, safetensors, tokenizer files)" };
        var prompt = new Option<string>("--prompt") { Description = "the text to continue", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "PEFT LoRA adapter directory to apply (unmerged)" };
        var max = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 64, Description = "the most new tokens" };
        var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0, Description = "0: greedy; else sampling temperature" };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => 0, Description = "sample from the k most likely (0: all)" };
        var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 1.0, Description = "nucleus mass in (0, 1]" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "random seed" };
        var baseDType = BaseDTypeOption.Create();
        var cmd = new Command("generate", "Continue a prompt with a Hugging Face model (greedy or sampled).") { model, prompt, adapter, max, temperature, topK, topP, seed, baseDType };
        cmd.SetAction(p => Run(ctx, p.GetValue(model)!, p.GetValue(prompt)!, p.GetValue(adapter), new SamplingOptions
        {
            MaxNewTokens = p.GetValue(max), Temperature = p.GetValue(temperature), TopK = p.GetValue(topK), TopP = p.GetValue(topP), Seed = p.GetValue(seed),
        }, BaseDTypeOption.Parse(p.GetValue(baseDType)!)));
        return cmd;
    }

    public static int Run(CliContext ctx, string modelDir, string prompt, string? adapterDir, SamplingOptions options,
        BaseFormat baseFormat = BaseFormat.Fp32)
    {
        options.Validate();
        var (model, _) = ModelInput.Load(modelDir, adapterDir, baseFormat);
        var tokenizer = HfTokenizer.Load(modelDir);
        var ids = tokenizer.Encode(prompt, addBos: tokenizer.Config.AddBosToken ?? model is LlamaForCausalLM);
        if (ids.Length == 0) throw new CliException(ExitCodes.Usage, "--prompt: the prompt encodes to no tokens.");
        var stops = model.Config.EosTokenIds.Concat(tokenizer.EosId is { } e ? [e] : []).Distinct().ToList();
        var generated = TextGenerator.Generate(new ManagedCausalLm(model), ids, options with { StopTokens = stops });
        ctx.Output.WriteLine(prompt + tokenizer.Decode(generated));
        return ExitCodes.Ok;
    }
}
