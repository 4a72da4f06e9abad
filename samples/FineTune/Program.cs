// LoRA fine-tuning of a Hugging Face model from C# — what `loragen finetune` does, in a page.
//   dotnet run --project samples/FineTune -- <model dir> <text file> <adapter out dir>
using LoraGen.Families;
using LoraGen.Generation;
using LoraGen.Tokenization;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: FineTune <model dir> <text file> <adapter out dir>");
    return 2;
}
string modelDir = args[0], textFile = args[1], adapterDir = args[2];

var model = HfModels.Load(modelDir);                       // GPT2LMHeadModel or LlamaForCausalLM, by config.json
var tokenizer = HfTokenizer.Load(modelDir);                // tokenizer.json, vocab.json+merges.txt or tokenizer.model
var tokens = tokenizer.Encode(File.ReadAllText(textFile));

// The family's default targets (GPT-2: c_attn; Llama: q_proj, v_proj), rank 8, α 16; the adapter names its base.
var lora = model.LoraWith(model.DefaultLoraOptions with { BaseModelName = modelDir });
lora.Attach(seed: 0);
Console.WriteLine($"{model.Config.ModelType}: {tokens.Length} tokens; {lora.Summary()}");

LoraFineTuner.Train(model, lora, tokens, new FineTuneOptions { Steps = 40, LearningRate = 5e-3f, SequenceLength = 64, EvalEvery = 10 },
    step =>
    {
        if (step.ValidationLoss is { } v) Console.WriteLine($"step {step.Step}: loss {step.Loss:F4}, validation {v:F4}, {step.TokensPerSecond:F0} tokens/s");
    });
lora.Save(adapterDir);                                     // adapter_config.json + adapter_model.safetensors, PEFT's layout
Console.WriteLine($"adapter saved to {adapterDir}");

var prompt = tokenizer.Encode("the cat", addBos: model is LlamaForCausalLM);
var output = TextGenerator.Generate(new ManagedCausalLm(model), prompt, new SamplingOptions { MaxNewTokens = 12 });
Console.WriteLine("the cat" + tokenizer.Decode(output));
return 0;
