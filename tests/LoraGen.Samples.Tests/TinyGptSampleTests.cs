using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LoraGen.Ops;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>
/// Runs <c>samples/TinyGpt.Lora --quick</c> once (in a child process, as <c>dotnet run</c> would) and checks what it
/// prints and writes: the PEFT summary numbers, falling losses, untouched base weights, identical generations
/// across merge and reload, and the PEFT files on disk.
/// </summary>
[Collection(QuickRunCollection.Name)]
public sealed class TinyGptSampleTests
{
    private readonly QuickRun _run;

    public TinyGptSampleTests(QuickRun run) => _run = run;

    /// <summary>One --quick run shared by the tests.</summary>
    public sealed class QuickRun : IDisposable
    {
        public QuickRun()
        {
            OutDir = Directory.CreateTempSubdirectory("loragen-sample-").FullName;
            var dll = Path.Combine(AppContext.BaseDirectory, "TinyGpt.Lora.dll");
            // Output redirected (as into a file), NO_COLOR unset: the sample must notice the redirect by itself.
            var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" --quick --out \"{OutDir}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment.Remove("NO_COLOR");
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); throw new TimeoutException("the sample ran for more than 5 minutes"); }
            Output = stdout.Result + stderr.Result;
            ExitCode = p.ExitCode;
        }

        public string OutDir { get; }
        public string Output { get; }
        public int ExitCode { get; }

        public void Dispose() => Directory.Delete(OutDir, recursive: true);
    }

    private Match Line(string pattern)
    {
        var m = Regex.Match(_run.Output, pattern, RegexOptions.Multiline);
        Assert.True(m.Success, $"the sample did not print /{pattern}/. Output:\n{_run.Output}");
        return m;
    }

    private static double D(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);

    [Fact]
    public void ExitsSuccessfully() => Assert.True(_run.ExitCode == 0, _run.Output);

    [Fact]
    public void RedirectedOutputHasNoEscapeCodes() => Assert.DoesNotContain('\u001b', _run.Output);

    [Fact]
    public void AfterLoraTheGeneratedWordsAreThoseOfTheLoraText()
    {
        // The word-level model writes only vocabulary words; what moves is which text they come from: before LoRA
        // mostly corpus A's prose, after LoRA corpus B's verse.
        var m = Line(@"^generated words found in corpus B \(the LoRA text\): before LoRA (\d+)%, after LoRA (\d+)%$");
        double before = D(m.Groups[1]), after = D(m.Groups[2]);
        Assert.True(after >= 80, m.Value);
        Assert.True(after >= before + 30, m.Value);
        var sample = Regex.Match(_run.Output, "--- sample after LoRA ---\n(.*?)\n---", RegexOptions.Singleline);
        Assert.True(sample.Success, _run.Output);
        Assert.Contains(" thou ", sample.Groups[1].Value, StringComparison.Ordinal);   // verse, not the prose of corpus A
    }

    [Fact]
    public void PrintsPeftSummaryWithTheAdapterSize()
    {
        // --quick: d 64, 2 layers; r = 8 on q and v: 2 layers × 2 layer kinds × 8 × (64 + 64) = 4,096.
        var m = Line(@"^trainable params: ([\d,]+) \|\| all params: ([\d,]+) \|\| trainable%: (\d+\.\d{4})$");
        long trainable = long.Parse(m.Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        long all = long.Parse(m.Groups[2].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        long baseParams = long.Parse(Line(@"^base model: ([\d,]+) parameters").Groups[1].Value.Replace(",", ""), CultureInfo.InvariantCulture);
        Assert.Equal(4096, trainable);
        Assert.Equal(baseParams + trainable, all);
        Assert.Equal((100.0 * trainable / all).ToString("F4", CultureInfo.InvariantCulture), m.Groups[3].Value);
    }

    [Fact]
    public void LossesFall()
    {
        var pre = Line(@"^pre-training loss: ([\d.]+) -> ([\d.]+)$");
        Assert.True(D(pre.Groups[2]) < D(pre.Groups[1]) - 0.5, pre.Value);
        var lora = Line(@"^validation loss on B: base ([\d.]+) -> after LoRA ([\d.]+)");
        Assert.True(D(lora.Groups[2]) < 0.95 * D(lora.Groups[1]), lora.Value);
    }

    [Fact]
    public void OnlyAdaptersChangedAndEveryReloadAgrees()
    {
        Line(@"^base weights unchanged \(only A/B trained\): yes$");
        Line(@"^identical generations \(unmerged, merged, base\+adapter reloaded, merged reloaded\): yes$");
        var delta = Line(@"^merged vs unmerged: max \|Δlogit\| = ([\d.E+-]+)$");
        Assert.True(D(delta.Groups[1]) < 1e-4, delta.Value);
    }

    [Fact]
    public void WritesPeftFilesAndTheLossCurve()
    {
        foreach (var f in new[] { "base.safetensors", "merged.safetensors", "loss.svg", "check.safetensors", "adapter/adapter_model.safetensors", "adapter/adapter_config.json" })
            Assert.True(File.Exists(Path.Combine(_run.OutDir, f)), $"{f} missing");
        using var adapter = SafetensorsFile.Open(Path.Combine(_run.OutDir, "adapter", "adapter_model.safetensors"));
        Assert.Equal(8, adapter.Tensors.Count);   // 2 layers × (q, v) × (A, B)
        Assert.Contains("base_model.model.h.1.attn.v_proj.lora_B.weight", adapter.Tensors.Select(t => t.Name));
        Assert.Equal([8L, 64L], adapter.Info("base_model.model.h.0.attn.q_proj.lora_A.weight").Shape);
        var config = File.ReadAllText(Path.Combine(_run.OutDir, "adapter", "adapter_config.json"));
        Assert.Contains("\"peft_type\": \"LORA\"", config);
        Assert.Contains("\"r\": 8", config);
        Assert.Contains("\"lora_alpha\": 16", config);
        var chart = System.Xml.Linq.XDocument.Load(Path.Combine(_run.OutDir, "loss.svg"));   // well-formed SVG from the plotting room
        Assert.Equal("svg", chart.Root!.Name.LocalName);
        Assert.Contains("LoRA only", chart.ToString(), StringComparison.Ordinal);
        // The JSONL training log `loragen plot` reads: one object per step, steps counting on through the phases.
        var log = File.ReadAllLines(Path.Combine(_run.OutDir, "loss.jsonl"));
        Assert.NotEmpty(log);
        for (int i = 0; i < log.Length; i++)
        {
            using var line = System.Text.Json.JsonDocument.Parse(log[i]);
            var o = line.RootElement;
            Assert.Equal(i + 1, o.GetProperty("step").GetInt32());
            Assert.True(float.IsFinite(o.GetProperty("loss").GetSingle()), log[i]);
            Assert.True(o.GetProperty("lr").GetDouble() > 0, log[i]);
            Assert.True(o.GetProperty("tokens_per_s").GetDouble() > 0, log[i]);
        }
    }
}
