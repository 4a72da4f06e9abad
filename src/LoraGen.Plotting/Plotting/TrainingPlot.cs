using LoraGen.IO;

namespace LoraGen.Plotting;

/// <summary>
/// Training curves as PNG or SVG with ScottPlot: loss series on the left axis, optional series (a learning rate) on
/// the right axis, optional vertical markers (e.g. where LoRA fine-tuning starts). Files are written atomically.
/// </summary>
public static class TrainingPlot
{
    /// <summary>The plot's image in <paramref name="format"/> ("png" or "svg").</summary>
    public static byte[] Render(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series,
        string format, int width = 800, int height = 450, string? rightLabel = null, IReadOnlyList<double>? verticalLines = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (width < 16 || height < 16) throw new ArgumentOutOfRangeException(nameof(width), "A plot needs at least 16 × 16 pixels.");
        var plot = new ScottPlot.Plot();
        foreach (var s in series)
        {
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"Series '{s.Label}' has {s.X.Length} x values and {s.Y.Length} y values.", nameof(series));
            if (s.X.Length == 0) continue;
            var scatter = s.MarkersOnly ? plot.Add.ScatterPoints(s.X, s.Y) : plot.Add.ScatterLine(s.X, s.Y);
            if (s.MarkersOnly) scatter.MarkerSize = 9;
            scatter.LegendText = s.Label;
            if (s.RightAxis) scatter.Axes.YAxis = plot.Axes.Right;
        }
        foreach (var x in verticalLines ?? []) plot.Add.VerticalLine(x).LinePattern = ScottPlot.LinePattern.Dashed;
        plot.Title(title);
        plot.Axes.Bottom.Label.Text = xLabel;
        plot.Axes.Left.Label.Text = yLabel;
        if (rightLabel is not null) plot.Axes.Right.Label.Text = rightLabel;
        if (series.Count(s => s.Label.Length > 0) > 1) plot.ShowLegend();
        return format.ToLowerInvariant() switch
        {
            "svg" => System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(width, height)),
            "png" => plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png),
            _ => throw new ArgumentException($"Plot format '{format}' is not png or svg.", nameof(format)),
        };
    }

    /// <summary>Writes the plot to <paramref name="path"/> atomically, as PNG or SVG by its extension.</summary>
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series,
        int width = 800, int height = 450, string? rightLabel = null, IReadOnlyList<double>? verticalLines = null)
    {
        var format = Path.GetExtension(path).TrimStart('.');
        AtomicFile.WriteAllBytes(path, Render(title, xLabel, yLabel, series, format, width, height, rightLabel, verticalLines));
    }
}
