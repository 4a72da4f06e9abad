using System.Diagnostics;
using LoraGen.Peft;
using Xunit;

namespace LoraGen.TorchSharp.Tests.Sample;

/// <summary>
/// Runs <c>samples/TinyGpt.TorchSharp --quick</c> in a child process (from this project's output, where the
/// compatibility step has marked libLibTorchSharp.so) and opens the adapter it writes with the PEFT unit.
/// </summary>
public sealed class TinyGptTorchSampleTests
{
    [Fact]
    public async Task QuickRunSucceedsAndItsAdapterOpensInThePeftUnitWithRankAndKeys()
    {
        var outDir = Directory.CreateTempSubdirectory("loragen-torch-sample-").FullName;
        try
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "TinyGpt.TorchSharp.dll");
            var psi = new ProcessStartInfo("dotnet", $"\"{dll}\" --quick --out \"{outDir}\"") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8)))
            {
                try { await p.WaitForExitAsync(timeout.Token); }
                catch (OperationCanceledException) { p.Kill(entireProcessTree: true); throw new TimeoutException("the sample ran for more than 8 minutes"); }
            }
            string output = await stdout + await stderr;
            Assert.True(p.ExitCode == 0, output);
            Assert.Contains("trainable params: 4,096 ||", output);
            Assert.Contains("identical generations (unmerged, merged, base+adapter reloaded, merged reloaded): yes", output);

            using var files = AdapterDirectory.Open(Path.Combine(outDir, "adapter"));
            Assert.Equal(8, files.Config.R);
            Assert.Equal(16.0, files.Config.LoraAlpha);
            // --quick: 2 layers; [Lora] on q_proj and v_proj of each block's attention.
            var expected = new[] { 0, 1 }.SelectMany(i => new[] { "q_proj", "v_proj" }.Select(n => $"h.{i}.attn.{n}"))
                .SelectMany(path => new[] { AdapterKeys.A(path, LayerKind.Linear), AdapterKeys.B(path, LayerKind.Linear) })
                .Order(StringComparer.Ordinal);
            Assert.Equal(expected, files.Weights.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
            Assert.All(files.Weights.Tensors, t => Assert.Contains(8L, t.Shape));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}
