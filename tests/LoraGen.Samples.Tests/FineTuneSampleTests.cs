using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LoraGen.Families;
using LoraGen.Peft;
using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>
/// Runs <c>samples/FineTune</c> once (in a child process, as <c>dotnet run</c> would) on the tiny GPT-2 checkpoint of
/// tools/make_hf_fixtures.py and a repetitive text, and checks what it claims: the PEFT summary, falling validation
/// loss, and a saved adapter that names its base and loads back into a fresh model, changing its logits.
/// </summary>
public sealed class FineTuneSampleTests : IClassFixture<FineTuneSampleTests.Run>
{
    private readonly Run _run;

    public FineTuneSampleTests(Run run) => _run = run;

    /// <summary>The tiny GPT-2 checkpoint copied next to the tests.</summary>
    public static string ModelDir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf", "gpt2");

    /// <summary>One run of the sample shared by the tests.</summary>
    public sealed class Run : IDisposable
    {
        public Run()
        {
            WorkDir = Directory.CreateTempSubdirectory("loragen-finetune-").FullName;
            string text = Path.Combine(WorkDir, "text.txt");
            // A text the tiny model can learn in 40 steps: one sentence of its byte-level vocabulary, repeated.
            File.WriteAllText(text, string.Concat(Enumerable.Repeat("the cat sat on a mat and the dog ran to the park. ", 120)));
            AdapterDir = Path.Combine(WorkDir, "adapter");
            var dll = Path.Combine(AppContext.BaseDirectory, "FineTune.dll");
            var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" \"{ModelDir}\" \"{text}\" \"{AdapterDir}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); throw new TimeoutException("the sample ran for more than 5 minutes"); }
            Output = stdout.Result + stderr.Result;
            ExitCode = p.ExitCode;
        }

        public string WorkDir { get; }
        public string AdapterDir { get; }
        public string Output { get; }
        public int ExitCode { get; }

        public void Dispose() => Directory.Delete(WorkDir, recursive: true);
    }

    [Fact]
    public void ExitsSuccessfully() => Assert.True(_run.ExitCode == 0, _run.Output);

    [Fact]
    public void PrintsPeftSummaryOfTheDefaultTargets()
    {
        // GPT-2's default target c_attn (64 → 192), r 8, 2 layers: 2 × 8 × (64 + 192) = 4,096.
        var m = Regex.Match(_run.Output, @"^gpt2: \d+ tokens; trainable params: ([\d,]+) \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$", RegexOptions.Multiline);
        Assert.True(m.Success, _run.Output);
        Assert.Equal("4,096", m.Groups[1].Value);
    }

    [Fact]
    public void ValidationLossFalls()
    {
        var losses = Regex.Matches(_run.Output, @"^step (\d+): loss [\d.]+, validation ([\d.]+), \d+ tokens/s$", RegexOptions.Multiline)
            .Select(m => (Step: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Loss: double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.True(losses.Select(l => l.Step).SequenceEqual([10, 20, 30, 40]), _run.Output);
        Assert.True(losses[^1].Loss < losses[0].Loss - 0.5, _run.Output);
    }

    [Fact]
    public void SavedAdapterNamesItsBaseAndLoadsIntoAFreshModel()
    {
        Assert.Contains($"adapter saved to {_run.AdapterDir}", _run.Output, StringComparison.Ordinal);
        using (var files = AdapterDirectory.Open(_run.AdapterDir))
        {
            Assert.Equal(ModelDir, files.Config.BaseModelNameOrPath);
            Assert.True(files.Config.FanInFanOut);   // GPT-2's Conv1D, as PEFT writes it
        }
        int[] ids = [1, 2, 3, 4, 5, 6, 7, 8];
        var baseModel = HfModels.Load(ModelDir);
        var before = CausalLmModule.LastLogits(baseModel.Forward(ids, 1, ids.Length));
        var tuned = HfModels.Load(ModelDir);
        tuned.LoraWith(tuned.DefaultLoraOptions).Load(_run.AdapterDir);
        var after = CausalLmModule.LastLogits(tuned.Forward(ids, 1, ids.Length));
        // Trained B is nonzero: the adapter moves the logits (a fresh, untrained adapter would leave them equal).
        Assert.True(before.Zip(after, (x, y) => MathF.Abs(x - y)).Max() > 1e-3f, "the loaded adapter did not change the logits");
    }
}
