using LoraGen.IO;

namespace LoraGen.Plotting;

/// <summary>
/// Grouped bar charts with ScottPlot (e.g. memory per training method, one bar per measure): one group per category
/// on the x axis, one coloured bar per series in each group, with a legend. Files are written atomically.
/// </summary>
public static class BarChart
{
    /// <summary>The chart's image in <paramref name="format"/> ("png" or "svg").</summary>
    /// <param name="title">The title.</param>
    /// <param name="yLabel">The value axis' label.</param>
    /// <param name="categories">The groups along the x axis.</param>
    /// <param name="series">One bar per category each: (legend label, values in category order).</param>
    /// <param name="format">png or svg.</param>
    /// <param name="width">Pixels.</param>
    /// <param name="height">Pixels.</param>
    public static byte[] Render(string title, string yLabel, IReadOnlyList<string> categories,
        IReadOnlyList<(string Label, double[] Values)> series, string format, int width = 800, int height = 450)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        if (width < 16 || height < 16) throw new ArgumentOutOfRangeException(nameof(width), "A plot needs at least 16 × 16 pixels.");
        var plot = new ScottPlot.Plot();
        double slot = 0.8 / Math.Max(1, series.Count);
        for (int s = 0; s < series.Count; s++)
        {
            var (label, values) = series[s];
            if (values.Length != categories.Count)
                throw new ArgumentException($"Series '{label}' has {values.Length} values for {categories.Count} categories.", nameof(series));
            var positions = Enumerable.Range(0, values.Length).Select(c => c - 0.4 + slot * (s + 0.5)).ToArray();
            var bars = plot.Add.Bars(positions, values);
            foreach (var bar in bars.Bars) bar.Size = slot * 0.9;
            bars.Color = ScottPlot.Palette.Default.GetColor(s);
            bars.LegendText = label;
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, categories.Count).Select(c => (double)c)], [.. categories]);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.Axes.Left.Label.Text = yLabel;
        if (series.Count > 1) plot.ShowLegend();
        return format.ToLowerInvariant() switch
        {
            "svg" => System.Text.Encoding.UTF8.GetBytes(plot.GetSvgXml(width, height)),
            "png" => plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png),
            _ => throw new ArgumentException($"Plot format '{format}' is not png or svg.", nameof(format)),
        };
    }

    /// <summary>Writes the chart to <paramref name="path"/> atomically, as PNG or SVG by its extension.</summary>
    public static void Save(string path, string title, string yLabel, IReadOnlyList<string> categories,
        IReadOnlyList<(string Label, double[] Values)> series, int width = 800, int height = 450)
    {
        var format = Path.GetExtension(path).TrimStart('.');
        AtomicFile.WriteAllBytes(path, Render(title, yLabel, categories, series, format, width, height));
    }
}
