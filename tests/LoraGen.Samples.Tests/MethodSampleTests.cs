using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>
/// Runs the sample once per <c>--method</c> (and once with <c>--loraplus-ratio</c>) on the base that the shared
/// <c>--quick</c> run pre-trained (<c>--base</c>), with a short fine-tune, and checks what is particular to each method:
/// the trainable count, the validation loss right after attach, the file written, and that the loss falls.
/// </summary>
[Collection(QuickRunCollection.Name)]
public sealed class MethodSampleTests : IClassFixture<MethodSampleTests.MethodRuns>
{
    /// <summary>Enough steps for every method's validation loss to fall clearly, few enough to keep the runs short.</summary>
    private const int Steps = 20;

    // --quick: d 64, 2 layers, r = 8 on q and v: 2 layers × (q, v) × 8 × (64 + 64) = 4,096 in A and B.
    private const long LoraParams = 4096;

    private readonly TinyGptSampleTests.QuickRun _base;
    private readonly MethodRuns _runs;

    public MethodSampleTests(TinyGptSampleTests.QuickRun quickRun, MethodRuns runs) => (_base, _runs) = (quickRun, runs);

    /// <summary>The runs so far, by arguments (each runs once), and their output folders, deleted at the end.</summary>
    public sealed class MethodRuns : IDisposable
    {
        internal ConcurrentDictionary<string, Run> ByArgs { get; } = new();

        public void Dispose()
        {
            foreach (var run in ByArgs.Values) Directory.Delete(run.OutDir, recursive: true);
        }
    }

    /// <summary>What one run printed and wrote.</summary>
    internal sealed record Run(string Args, string OutDir, string Output, int ExitCode)
    {
        public Match Line(string pattern)
        {
            var m = Regex.Match(Output, pattern, RegexOptions.Multiline);
            Assert.True(m.Success, $"the sample ({Args}) did not print /{pattern}/. Output:\n{Output}");
            return m;
        }

        public string Adapter(string file) => Path.Combine(OutDir, "adapter", file);
    }

    /// <summary>The parsed <c>result:</c> line.</summary>
    private sealed record Result(double ValidationLoss, double StepMs, long Trainable, double PeakMiB);

    private Run RunSample(string args) => _runs.ByArgs.GetOrAdd(args, a =>
    {
        Assert.True(_base.ExitCode == 0, _base.Output);
        string outDir = Directory.CreateTempSubdirectory("loragen-method-").FullName;
        var dll = Path.Combine(AppContext.BaseDirectory, "TinyGpt.Lora.dll");
        string basePath = Path.Combine(_base.OutDir, "base.safetensors");
        var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" --quick --base \"{basePath}\" --lora-steps {Steps} {a} --out \"{outDir}\"")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); throw new TimeoutException($"the sample ({a}) ran for more than 5 minutes"); }
        return new Run(a, outDir, stdout.Result + stderr.Result, p.ExitCode);
    });

    private static double D(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);

    /// <summary>Checks what holds for every method and returns the result line and the losses before and after attach.</summary>
    private (Result Result, double BaseLoss, double AttachedLoss) Common(Run run, string method)
    {
        Assert.True(run.ExitCode == 0, run.Output);
        run.Line(@"^base weights unchanged \(only A/B trained\): yes");
        run.Line(method == "lora-int8"
            ? @"^identical generations \(unmerged and base\+adapter reloaded on the Int8 base; merged and merged reloaded\): yes$"
            : @"^identical generations \(unmerged, merged, base\+adapter reloaded, merged reloaded\): yes$");
        // The memory table (model.Lora.MemoryReport) is printed once, with the saved activations of the recorded step.
        run.Line(@"^training memory \(second step, before backward; model\.Lora\.MemoryReport\):$");
        run.Line(@"^\| saved activations \| [\d.]+ \|");
        var attach = run.Line(@"^validation loss on B right after attach: ([\d.]+) \(base ([\d.]+)\)$");
        var m = run.Line($@"^result: method {Regex.Escape(method)}.*, validation loss on B ([\d.]+) after {Steps} steps, step ([\d.]+) ms, trainable params ([\d,]+), peak working set (\d+) MiB$");
        var result = new Result(D(m.Groups[1]), D(m.Groups[2]), long.Parse(m.Groups[3].Value.Replace(",", ""), CultureInfo.InvariantCulture), D(m.Groups[4]));
        Assert.True(result.StepMs > 0 && result.PeakMiB > 0, m.Value);
        // The short fine-tune lowers the validation loss on B well below where it started.
        Assert.True(result.ValidationLoss < 0.8 * D(attach.Groups[1]), $"{attach.Value}\n{m.Value}");
        // The summary line agrees with the result line.
        var summary = run.Line(@"^trainable params: ([\d,]+) \|\|");
        Assert.Equal(result.Trainable, long.Parse(summary.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture));
        return (result, D(attach.Groups[2]), D(attach.Groups[1]));
    }

    private static string Config(Run run) => File.ReadAllText(run.Adapter("adapter_config.json"));

    [Fact]
    public void LoraIsTheDefaultAndStartsFromTheBase()
    {
        var run = RunSample("--method lora");
        var (result, baseLoss, attached) = Common(run, "lora");
        Assert.Equal(LoraParams, result.Trainable);
        Assert.Equal(baseLoss, attached);   // B = 0: the model is unchanged
        Assert.Contains("\"use_dora\": false", Config(run), StringComparison.Ordinal);
    }

    [Fact]
    public void DoraTrainsAMagnitudePerOutputFeatureAndSavesIt()
    {
        var run = RunSample("--method dora");
        var (result, baseLoss, attached) = Common(run, "dora");
        Assert.Equal(LoraParams + 2 * 2 * 64, result.Trainable);   // + m [64] on each of the 4 adapted layers
        Assert.Equal(baseLoss, attached);   // m = ‖W‖ and B = 0: unchanged
        Assert.Contains("\"use_dora\": true", Config(run), StringComparison.Ordinal);
        using var file = SafetensorsFile.Open(run.Adapter("adapter_model.safetensors"));
        Assert.Equal([64L], file.Info("base_model.model.h.1.attn.q_proj.lora_magnitude_vector").Shape);
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    public void ResidualInitStartsUnchangedAndSavesPlainLoraForTheOriginalBase(string method)
    {
        var run = RunSample($"--method {method}");
        var (result, baseLoss, attached) = Common(run, method);
        Assert.Equal(LoraParams, result.Trainable);
        // A and B are not zero, but W was replaced by W − s·BA: the model starts where the base is (to print precision).
        Assert.True(Math.Abs(baseLoss - attached) <= 0.002, run.Line("^validation loss on B right after attach.*$").Value);
        run.Line(@"^base weights unchanged \(only A/B trained\): yes — the residual base that attach wrote$");
        // Saved relative to the untouched base (PEFT's conversion): a plain LoRA adapter of rank 2r, which the
        // reload check above loaded onto the base as saved by pre-training.
        var config = Config(run);
        Assert.Contains("\"r\": 16", config, StringComparison.Ordinal);
        Assert.Contains("\"init_lora_weights\": true", config, StringComparison.Ordinal);
    }

    [Fact]
    public void QloraQuantizesEveryFrozenLinearToNf4()
    {
        var run = RunSample("--method qlora");
        var (result, baseLoss, attached) = Common(run, "qlora");
        Assert.Equal(LoraParams, result.Trainable);
        run.Line(@"^frozen base: 13 Linear layers cast to NF4$");   // 2 blocks × (q, k, v, o, fc, proj) + lm_head
        // The NF4 base is not the fp32 base: the loss moves, a little.
        Assert.NotEqual(baseLoss, attached);
        Assert.True(Math.Abs(baseLoss - attached) < 0.1, run.Line("^validation loss on B right after attach.*$").Value);
    }

    [Fact]
    public void LoraInt8QuantizesEveryFrozenLinearAndLandsNearFp32Lora()
    {
        var run = RunSample("--method lora-int8");
        var (result, baseLoss, attached) = Common(run, "lora-int8");
        Assert.Equal(LoraParams, result.Trainable);
        run.Line(@"^frozen base: 13 Linear layers cast to Int8$");
        run.Line(@"^\| base weights, int8 \(frozen\) \| [\d.]+ \|");
        // int8 weights and per-token int8 activations move the loss a little, and the LoRA phase ends near fp32 LoRA's.
        Assert.True(Math.Abs(baseLoss - attached) < 0.05, run.Line("^validation loss on B right after attach.*$").Value);
        var (fp32, _, _) = Common(RunSample("--method lora"), "lora");
        Assert.True(Math.Abs(result.ValidationLoss - fp32.ValidationLoss) <= 0.02 * fp32.ValidationLoss,
            $"int8 {result.ValidationLoss} vs fp32 {fp32.ValidationLoss}");
    }

    [Fact]
    public void LoraFaTrainsOnlyB()
    {
        var run = RunSample("--method lora-fa");
        var (result, baseLoss, attached) = Common(run, "lora-fa");
        Assert.Equal(LoraParams / 2, result.Trainable);   // B [64, 8] on 4 layers; A frozen
        Assert.Equal(baseLoss, attached);
        Assert.Contains("\"peft_type\": \"LORA\"", Config(run), StringComparison.Ordinal);   // a plain LoRA file
    }

    [Fact]
    public void VeraTrainsOnlyTheScalingVectorsAndSavesAPeftVeraFile()
    {
        var run = RunSample("--method vera");
        var (result, baseLoss, attached) = Common(run, "vera");
        Assert.Equal(4 * (256 + 64), result.Trainable);   // λ_d [r = 256] + λ_b [out = 64] on each of the 4 adapted layers
        Assert.Equal(baseLoss, attached);                   // λ_b = 0: unchanged
        Assert.Contains("\"peft_type\": \"VERA\"", Config(run), StringComparison.Ordinal);
        // The memory table counts the frozen projection: A [256, 64] + B [64, 256] shared, plus the 4 layers' slices (as large).
        run.Line(@"^\| adapter projections/bases \(frozen\) \| 0\.6[23] \|");
    }

    [Fact]
    public void NolaTrainsOnlyTheBasisCoefficientsAndSavesANolaFile()
    {
        var run = RunSample("--method nola");
        var (result, baseLoss, attached) = Common(run, "nola");
        Assert.Equal(4 * (64 + 64), result.Trainable);     // α [k_A] + β [k_B] per layer, whatever r and the shape
        Assert.Equal(baseLoss, attached);                   // β = 0: unchanged
        Assert.Contains("\"peft_type\": \"NOLA\"", Config(run), StringComparison.Ordinal);
        // 4 layers × (64 A bases [8·64] + 64 B bases [64·8]) × 4 bytes = 1 MiB of frozen bases.
        run.Line(@"^\| adapter projections/bases \(frozen\) \| 1\.00 \|");
    }

    [Fact]
    public void LoraPlusGivesBTheRatioTimesTheLearningRate()
    {
        var run = RunSample("--loraplus-ratio 4");
        var (result, _, _) = Common(run, "lora + LoRA+ ratio 4");
        Assert.Equal(LoraParams, result.Trainable);
        run.Line(@"^LoRA\+ optimizer: groupA lr 0\.01 \(4 tensors\), groupB lr 0\.04 \(4 tensors\)$");
    }
}
