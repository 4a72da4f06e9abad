using LoraGen.Families;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary>loragen logits / generate / finetune on the Hugging Face fixtures.</summary>
public class ModelVerbTests
{
    private static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf", name);

    private static string Temp(string ext = "") => Path.Combine(Path.GetTempPath(), "loragen-cli-" + Guid.NewGuid().ToString("N") + ext);

    private static float MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [Theory]
    [InlineData("gpt2", false)]
    [InlineData("gpt2", true)]
    [InlineData("llama", false)]
    public void LogitsWritesTheReference(string name, bool adapter)
    {
        string outFile = Temp(".safetensors");
        var args = new List<string> { "logits", Model(name), "--ids", "17,3,200,45,9", "-o", outFile };
        if (adapter) args.AddRange(["--adapter", Path.Combine(Model(name), "adapter")]);
        var (code, _, err) = Cli.Run(args.ToArray());
        Assert.True(code == 0, err);
        using var got = SafetensorsFile.Open(outFile);
        Assert.Equal([5L, 300L], got.Info("logits").Shape);
        using var reference = SafetensorsFile.Open(Path.Combine(Model(name), "reference.safetensors"));
        Assert.True(MaxDiff(got.ReadFloats("logits"), reference.ReadFloats(adapter ? "logits_lora.1" : "logits.1")) <= 1e-4f);
    }

    [Fact]
    public void BaseDTypeBf16KeepsABf16CheckpointsLogits()
    {
        // The llama fixture is BF16: a bf16 base is exact, so the reference holds ≤ 1e-4; an unknown value is a usage error.
        string outFile = Temp(".safetensors");
        var (code, _, err) = Cli.Run("logits", Model("llama"), "--ids", "17,3,200,45,9", "--base-dtype", "bf16", "-o", outFile);
        Assert.True(code == 0, err);
        using var got = SafetensorsFile.Open(outFile);
        using var reference = SafetensorsFile.Open(Path.Combine(Model("llama"), "reference.safetensors"));
        Assert.True(MaxDiff(got.ReadFloats("logits"), reference.ReadFloats("logits.1")) <= 1e-4f);
        (code, _, err) = Cli.Run("logits", Model("llama"), "--ids", "1", "--base-dtype", "int8", "-o", Temp(".safetensors"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--base-dtype", err);
    }

    [Fact]
    public void LogitsErrorsNameTheInput()
    {
        var (code, _, err) = Cli.Run("logits", Model("gpt2"), "--ids", "1,999", "-o", Temp(".safetensors"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("999", err);
        string broken = Temp();
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "config.json"), """{"model_type": "t5"}""");
        (code, _, err) = Cli.Run("logits", broken, "--ids", "1", "-o", Temp(".safetensors"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("config.json: model_type", err);
        Assert.Contains("supported: gpt2, llama", err);
    }

    [Fact]
    public void GenerateContinuesThePrompt()
    {
        var (code, output, err) = Cli.Run("generate", Model("llama"), "--prompt", "the cat", "--max-tokens", "5");
        Assert.True(code == 0, err);
        Assert.StartsWith("the cat", output);
        Assert.True(output.Trim().Length > "the cat".Length);
        var (code2, output2, _) = Cli.Run("generate", Model("llama"), "--prompt", "the cat", "--max-tokens", "5");
        Assert.Equal(0, code2);
        Assert.Equal(output, output2);   // greedy is deterministic
    }

    [Fact]
    public void FinetuneSavesAPeftAdapterAndAMergedModel()
    {
        string data = Temp(".jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 20).Select(i => $"{{\"text\": \"the cat sat on the mat {i} and the dog sat on the log\"}}"));
        string adapter = Temp(), merged = Temp(), log = Temp(".jsonl"), plot = Temp(".svg");
        var (code, output, err) = Cli.Run("finetune", Model("gpt2"), "--data", data, "-o", adapter, "--rank", "4", "--targets", "c_attn,c_fc",
            "--lr", "0.01", "--steps", "12", "--seq-len", "16", "--eval-every", "4", "--merge", merged, "--log", log, "--plot", plot);
        Assert.True(code == 0, err + output);
        Assert.Contains("val", output);
        using (var files = AdapterDirectory.Open(adapter))
        {
            Assert.Equal(Model("gpt2"), files.Config.BaseModelNameOrPath);
            Assert.True(files.Config.FanInFanOut);
            Assert.Equal(4, files.Config.R);
            Assert.Contains(AdapterKeys.A("transformer.h.0.mlp.c_fc", LayerKind.Linear), files.Weights.Tensors.Select(t => t.Name));
        }
        Assert.Equal(12, File.ReadAllLines(log).Length);
        Assert.True(new FileInfo(plot).Length > 0);
        // The merged model loads and equals base + adapter.
        var (c1, _, e1) = Cli.Run("logits", merged, "--ids", "1,2,3", "-o", Temp(".safetensors"));
        Assert.True(c1 == 0, e1);
        var viaMerged = HfModels.Load(merged);
        var viaAdapter = HfModels.Load(Model("gpt2"));
        viaAdapter.LoraWith(viaAdapter.DefaultLoraOptions).Load(adapter);
        using var _ = Autograd.GradMode.NoGrad();
        Assert.True(MaxDiff(viaMerged.Forward([1, 2, 3], 1, 3).ToArray(), viaAdapter.Forward([1, 2, 3], 1, 3).ToArray()) <= 1e-4f);
    }
}
