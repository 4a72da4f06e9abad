using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder.Model;
using DiffPlex.DiffBuilder;
using DiffPlex;
using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit.Sdk;

namespace LoraGen.Generators.Tests;

/// <summary>
/// Approved-file snapshots: the text is compared with <c>Snapshots/&lt;name&gt;.verified.cs</c> in the source tree.
/// On a mismatch the new text goes to <c>.received.cs</c> beside it and the test fails with a line diff; run with
/// <c>LORAGEN_ACCEPT=1</c> to accept (overwrite the verified file).
/// </summary>
internal static class Snapshot
{
    public const string AcceptVariable = "LORAGEN_ACCEPT";

    public static void Verify(string name, string actual, [CallerFilePath] string callerFile = "")
    {
        var dir = Path.Combine(Path.GetDirectoryName(callerFile)!, "Snapshots");
        var verified = Path.Combine(dir, name + ".verified.cs");
        var received = Path.Combine(dir, name + ".received.cs");
        actual = actual.Replace("\r\n", "\n");
        var expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
        if (expected == actual)
        {
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(verified)!);
            File.WriteAllText(verified, actual);
            if (File.Exists(received)) File.Delete(received);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(received)!);
        File.WriteAllText(received, actual);
        throw new XunitException(expected is null
            ? $"No approved snapshot {verified}.\nThe output was written to {received}; review it and run with {AcceptVariable}=1 to accept.\n\n{actual}"
            : $"Snapshot {name} differs from {verified} (- approved, + received; written to {received}; {AcceptVariable}=1 accepts):\n{Diff(expected, actual)}");
    }

    private static string Diff(string expected, string actual)
    {
        var model = new InlineDiffBuilder(new Differ()).BuildDiffModel(expected, actual);
        var sb = new StringBuilder();
        var lines = model.Lines;
        for (int i = 0; i < lines.Count; i++)
        {
            // Show changed lines with two lines of context.
            bool near = false;
            for (int j = Math.Max(0, i - 2); j <= Math.Min(lines.Count - 1, i + 2) && !near; j++) near = lines[j].Type != ChangeType.Unchanged;
            if (!near) continue;
            var prefix = lines[i].Type switch { ChangeType.Inserted => "+ ", ChangeType.Deleted => "- ", _ => "  " };
            sb.Append(prefix).Append(lines[i].Position?.ToString() ?? "").Append('\t').AppendLine(lines[i].Text);
        }
        return sb.ToString();
    }
}
