using System.CommandLine;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// The <c>loragen</c> tool as a library: <see cref="Run"/> parses a command line, runs the verb and maps every
/// error to one line naming the file and key or field, and to an exit code (<see cref="ExitCodes"/>).
/// </summary>
public static class LoragenCli
{
    /// <summary>
    /// Runs one command line. Output goes to <paramref name="output"/> (default: the console), errors to
    /// <paramref name="error"/> (default: standard error). Returns the exit code.
    /// </summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var outWriter = output ?? Console.Out;
        var errWriter = error ?? Console.Error;
        var console = output is null
            ? AnsiConsole.Console
            : AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
        if (output is not null) console.Profile.Width = 200;
        var ctx = new CliContext(console, outWriter, errWriter);
        var root = new RootCommand("loragen: LoRA adapters in PEFT's format — inspect, validate, merge, combine, convert, diff, plot; Hugging Face models — logits, generate, finetune.")
        {
            InspectCommand.Create(ctx),
            ValidateCommand.Create(ctx),
            MergeCommand.Create(ctx),
            CombineCommand.Create(ctx),
            ConvertCommand.Create(ctx),
            DiffCommand.Create(ctx),
            PlotCommand.Create(ctx),
            SynthCommand.Create(ctx),
            LogitsCommand.Create(ctx),
            GenerateCommand.Create(ctx),
            FinetuneCommand.Create(ctx),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) errWriter.WriteLine($"loragen: {e.Message}");
            errWriter.WriteLine("Run 'loragen --help' for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = outWriter, Error = errWriter, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            var (code, message) = Describe(e);
            errWriter.WriteLine($"loragen: error: {message}");
            return code;
        }
    }

    /// <summary>The exit code and one-line message of an error (the PEFT unit's exceptions already name file and key or field).</summary>
    internal static (int Code, string Message) Describe(Exception e) => e switch
    {
        CliException c => (c.ExitCode, c.Message),
        SafetensorsException s => (ExitCodes.BadInput, s.Message),
        AdapterConfigException a => (ExitCodes.BadInput, a.Message),
        NoAdapterException n => (ExitCodes.BadInput, n.Message),
        AdapterDirectoryException d => (ExitCodes.BadInput, d.Message),
        LoraGen.Hub.ModelFileException m => (ExitCodes.BadInput, m.Message),
        LoraGen.Tokenization.TokenizerFileException t => (ExitCodes.BadInput, t.Message),
        LoraAdapterException l => (ExitCodes.BadInput, l.Message),
        NotSupportedException ns => (ExitCodes.NotSupported, ns.Message),
        ArgumentException ae => (ExitCodes.Usage, ae.Message),
        FileNotFoundException f => (ExitCodes.BadInput, $"{f.FileName}: {f.Message}"),
        DirectoryNotFoundException d => (ExitCodes.BadInput, d.Message),
        UnauthorizedAccessException u => (ExitCodes.BadInput, u.Message),
        IOException io => (ExitCodes.BadInput, io.Message),
        _ => (ExitCodes.Internal, $"internal error: {e}"),
    };
}
