using System.Globalization;
using System.Text.RegularExpressions;
using LoraGen.Plotting;

namespace LoraGen.Benchmarks;

/// <summary>
/// Draws the results page's plot from the results page itself (benchmarks/README.md), so picture and table cannot
/// disagree: the matrix-multiply table (<c>| n | layout | LoraGen GFLOP/s | PyTorch GFLOP/s | … |</c>) becomes
/// benchmarks/gemm.svg, GFLOP/s over n, one line per library and layout, with the project's plotting room.
/// </summary>
public static class ReadmePlots
{
    /// <summary>Reads the GEMM table of <paramref name="readmePath"/> and writes <paramref name="svgPath"/>; returns the rows drawn.</summary>
    public static int DrawGemm(string readmePath, string svgPath)
    {
        var rows = Regex.Matches(File.ReadAllText(readmePath), @"^\| (\d+) \| (A·Bᵀ?) \| ([\d.]+) \| ([\d.]+) \|", RegexOptions.Multiline)
            .Select(m => (N: double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Layout: m.Groups[2].Value,
                Ours: double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), Torch: double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)))
            .ToList();
        if (rows.Count == 0) throw new InvalidDataException($"{readmePath} has no matrix-multiply table rows (| n | layout | LoraGen | PyTorch | … |).");
        var series = new List<PlotSeries>();
        foreach (var layout in rows.Select(r => r.Layout).Distinct())
        {
            var of = rows.Where(r => r.Layout == layout).OrderBy(r => r.N).ToList();
            series.Add(new PlotSeries($"LoraGen {layout}", [.. of.Select(r => r.N)], [.. of.Select(r => r.Ours)]));
            series.Add(new PlotSeries($"PyTorch {layout}", [.. of.Select(r => r.N)], [.. of.Select(r => r.Torch)]));
        }
        TrainingPlot.Save(svgPath, "fp32 matrix multiply, n × n, 2 threads", "n", "GFLOP/s (higher is better)", series, width: 720, height: 400);
        return rows.Count;
    }
}
