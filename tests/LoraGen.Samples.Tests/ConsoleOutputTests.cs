using System.Diagnostics;
using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>
/// The sample in a terminal (a pseudo-terminal from util-linux <c>script</c>): coloured by default, plain with
/// <c>NO_COLOR</c> set (https://no-color.org). Redirected output is checked by <see cref="TinyGptSampleTests"/>.
/// </summary>
public sealed class ConsoleOutputTests
{
    private static string RunInTerminal(bool noColor)
    {
        var outDir = Directory.CreateTempSubdirectory("loragen-tty-").FullName;
        try
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "TinyGpt.Lora.dll");
            // Two steps each: this checks the console, not the training.
            string command = $"dotnet '{dll}' --quick --pretrain-steps 2 --lora-steps 2 --out '{outDir}'";
            var psi = new ProcessStartInfo("script", ["--quiet", "--return", "--command", command, "/dev/null"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            psi.Environment["TERM"] = "xterm-256color";
            if (noColor) psi.Environment["NO_COLOR"] = "1";
            else psi.Environment.Remove("NO_COLOR");
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(entireProcessTree: true); throw new TimeoutException("the sample ran for more than 5 minutes"); }
            string output = stdout.Result + stderr.Result;
            Assert.Contains("identical generations", output);   // it really ran in the terminal
            return output;
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }

    /// <summary>
    /// "Keypad transmit" mode (terminfo smkx), which .NET's console itself sends to any terminal it starts in; not the
    /// sample's output and no colour, so it is the one sequence left out of the check.
    /// </summary>
    private const string KeypadTransmit = "\u001b[?1h\u001b=";

    [Fact]
    public void NoColorInATerminalWritesNoEscapeCodes()
    {
        // The terminal does get styled text (bold title, colours): the check below can fail.
        Assert.Matches(@"\u001b\[[0-9;]*m", RunInTerminal(noColor: false));
        var plain = RunInTerminal(noColor: true).Replace(KeypadTransmit, "", StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', plain);
    }
}
