using System.Xml.Linq;
using LoraGen.Plotting;
using Xunit;

namespace LoraGen.Plotting.Tests;

public class TrainingPlotTests
{
    private static readonly PlotSeries[] Curves =
    [
        new("loss on A", [0, 1, 2, 3], [3.0, 2.5, 2.1, 1.9]),
        new("validation on B", [1, 3], [2.8, 2.2], MarkersOnly: true),
        new("lr", [0, 1, 2, 3], [1e-3, 8e-4, 5e-4, 2e-4], RightAxis: true),
    ];

    [Fact]
    public void SvgIsWellFormedAndCarriesTitleAxesAndLegend()
    {
        var svg = System.Text.Encoding.UTF8.GetString(TrainingPlot.Render("TinyGpt run", "step", "loss", Curves, "svg", rightLabel: "learning rate", verticalLines: [1.5]));
        var doc = XDocument.Parse(svg);   // throws on malformed XML
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        foreach (var text in new[] { "TinyGpt run", "step", "loss", "learning rate", "loss on A", "validation on B" })
            Assert.Contains(text, svg, StringComparison.Ordinal);
    }

    [Fact]
    public void PngHasThePngSignatureAndItsFileIsWrittenAtomically()
    {
        var png = TrainingPlot.Render("t", "x", "y", Curves, "png", 320, 200);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png.Take(8).ToArray());
        var dir = Directory.CreateTempSubdirectory("loragen-plot-").FullName;
        try
        {
            var path = Path.Combine(dir, "loss.png");
            TrainingPlot.Save(path, "t", "x", "y", Curves, 320, 200);
            Assert.Equal(png.Take(8), File.ReadAllBytes(path).Take(8));
            Assert.Equal(["loss.png"], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temporary left
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BadInputIsRefusedWithTheReason()
    {
        var ex = Assert.Throws<ArgumentException>(() => TrainingPlot.Render("t", "x", "y", [new("broken", [0, 1], [1])], "svg"));
        Assert.Contains("broken", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => TrainingPlot.Render("t", "x", "y", Curves, "gif"));
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainingPlot.Render("t", "x", "y", Curves, "png", 4, 4));
    }
}
