using System.CommandLine;
using System.Text.Json;
using LoraGen.Plotting;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen plot LOG.jsonl -o loss.png|loss.svg</c>: a training log, one JSON object per line with
/// <c>step</c> and <c>loss</c> (and optionally <c>lr</c>, drawn on the right axis), as a loss curve with ScottPlot.
/// A line that is not such an object fails with its file and line number.
/// </summary>
internal static class PlotCommand
{
    public static Command Create(CliContext ctx)
    {
        var log = new Argument<string>("log") { Description = "JSONL training log: {\"step\": 1, \"loss\": 2.5, \"lr\": 0.0002, …} per line" };
        var output = new Option<string>("--output", "-o") { Description = "output image, .png or .svg", Required = true };
        var title = new Option<string?>("--title") { Description = "plot title (default: the log's file name)" };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 800, Description = "pixels" };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 500, Description = "pixels" };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var cmd = new Command("plot", "Plot a JSONL training log's loss (and learning rate) to PNG or SVG.") { log, output, title, width, height, force };
        cmd.SetAction(p => Run(ctx, p.GetValue(log)!, p.GetValue(output)!, p.GetValue(title), p.GetValue(width), p.GetValue(height), p.GetValue(force)));
        return cmd;
    }

    internal sealed record Point(double Step, double Loss, double? Lr);

    public static int Run(CliContext ctx, string logPath, string outputPath, string? title, int width, int height, bool force)
    {
        var ext = Path.GetExtension(outputPath).ToLowerInvariant();
        if (ext is not ".png" and not ".svg") throw new CliException(ExitCodes.Usage, $"{outputPath}: the output must end in .png or .svg.");
        if (width < 16 || height < 16) throw new CliException(ExitCodes.Usage, "--width and --height must be at least 16.");
        var points = Read(logPath);
        if (points.Count == 0) throw CliException.Input($"{logPath}: no log lines with \"step\" and \"loss\".");

        var series = new List<PlotSeries> { new("loss", points.Select(p => p.Step).ToArray(), points.Select(p => p.Loss).ToArray()) };
        var lrPoints = points.Where(p => p.Lr is not null).ToList();
        if (lrPoints.Count > 0)
            series.Add(new("lr", lrPoints.Select(p => p.Step).ToArray(), lrPoints.Select(p => p.Lr!.Value).ToArray(), RightAxis: true));
        var image = TrainingPlot.Render(title ?? Path.GetFileName(logPath), "step", "loss", series, ext.TrimStart('.'), width, height,
            rightLabel: lrPoints.Count > 0 ? "learning rate" : null);

        using var target = OutputTarget.Begin(outputPath, force, directory: false);
        File.WriteAllBytes(target.TempPath, image);
        target.Commit();
        ctx.Console.MarkupLineInterpolated($"plotted {points.Count} steps (loss {points[0].Loss:G4} → {points[^1].Loss:G4}) to [blue]{outputPath}[/]");
        return ExitCodes.Ok;
    }

    internal static List<Point> Read(string path)
    {
        if (!File.Exists(path)) throw CliException.Input($"{path}: no such log file.");
        var points = new List<Point>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw CliException.Input($"{path}:{lineNo}: not a JSON object ({e.Message}).", e); }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw CliException.Input($"{path}:{lineNo}: not a JSON object.");
                double Num(string field) =>
                    root.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
                        : throw CliException.Input($"{path}:{lineNo}: field \"{field}\" is missing or not a number.");
                double? lr = root.TryGetProperty("lr", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetDouble() : null;
                points.Add(new Point(Num("step"), Num("loss"), lr));
            }
        }
        return points;
    }
}
