using System.Xml.Linq;
using LoraGen.Plotting;
using Xunit;

namespace LoraGen.Plotting.Tests;

public class BarChartTests
{
    private static readonly string[] Methods = ["full", "lora", "qlora"];

    [Fact]
    public void SvgHasOneBarPerValueWithCategoryLabelsAndLegend()
    {
        var svg = System.Text.Encoding.UTF8.GetString(BarChart.Render("memory per method", "MB", Methods,
            [("peak RSS", [540, 571, 515]), ("formula", [49.5, 12.9, 2.3])], "svg"));
        var doc = XDocument.Parse(svg);
        foreach (var text in new[] { "memory per method", "MB", "full", "lora", "qlora", "peak RSS", "formula" })
            Assert.Contains(text, svg, StringComparison.Ordinal);
        // Each series' bars are filled with its own colour: three filled rectangles per series in the plot area.
        var fills = doc.Descendants().Where(e => e.Name.LocalName == "rect" && e.Attribute("x") is not null)
            .Select(e => (string?)e.Attribute("fill")).Where(f => f is not null and not "none" and not "white").GroupBy(f => f).ToList();
        Assert.Contains(fills, g => g.Count() >= 3);
        Assert.True(fills.Count(g => g.Count() >= 3) >= 2, string.Join(", ", fills.Select(g => $"{g.Key}×{g.Count()}")));
    }

    [Fact]
    public void ASeriesOfTheWrongLengthIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => BarChart.Render("t", "y", Methods, [("short", [1.0, 2.0])], "svg"));
        Assert.Contains("'short' has 2 values for 3 categories", e.Message);
    }
}
