using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>Where a command writes: a Spectre console for people, the raw writer for machines (<c>--json</c>).</summary>
internal sealed class CliContext(IAnsiConsole console, TextWriter output, TextWriter error)
{
    public IAnsiConsole Console { get; } = console;
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>Whether live progress bars can be drawn (an interactive terminal).</summary>
    public bool Interactive => Console.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with a progress bar of <paramref name="total"/> units when the terminal is interactive and the work is big enough to take over a second.</summary>
    public void WithProgress(string title, long total, bool big, Action<Action<long>> work)
    {
        if (!Interactive || !big)
        {
            work(_ => { });
            return;
        }
        Console.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total));
                work(n => task.Increment(n));
            });
    }
}
