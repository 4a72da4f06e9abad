using System.Globalization;
using LoraGen.IO;
using LoraGen.Plotting;

namespace TinyGpt.Lora;

/// <summary>
/// Draws the loss curves with the project's plotting room (<see cref="TrainingPlot"/>, ScottPlot) as SVG, atomically,
/// and writes next to it the JSONL training log (<c>loss.jsonl</c>: step, phase, loss, lr, tokens_per_s per line) that
/// <c>loragen plot</c> draws too.
/// </summary>
public static class LossChart
{
    /// <summary>The training log's path for a chart at <paramref name="chartPath"/> (the same name, <c>.jsonl</c>).</summary>
    public static string LogPath(string chartPath) => Path.ChangeExtension(chartPath, ".jsonl");

    /// <summary>Writes the chart to <paramref name="path"/> and <see cref="Training"/>'s log to <see cref="LogPath"/>.</summary>
    public static void Write(string path, IReadOnlyList<float> pretrain, IReadOnlyList<float> finetune, float baseValB, float loraValB, string method = "lora")
    {
        double[] Steps(int offset, int count) => Enumerable.Range(offset, count).Select(i => (double)i).ToArray();
        var series = new List<PlotSeries>();
        if (pretrain.Count > 0)   // none with --base (a loaded base)
            series.Add(new("train loss on A (pre-training, all weights)", Steps(0, pretrain.Count), Smooth(pretrain).ToArray()));
        series.AddRange(
        [
            new("train loss on B (LoRA only)", Steps(pretrain.Count, finetune.Count), Smooth(finetune).ToArray()),
            new($"validation loss on B: before {Fmt(baseValB)}, after {Fmt(loraValB)}",
                [pretrain.Count, pretrain.Count + finetune.Count - 1], [baseValB, loraValB], MarkersOnly: true),
        ]);
        string title = method == "lora" ? "LoRA" : $"LoRA ({method})";
        TrainingPlot.Save(path, $"TinyGpt: pre-training on corpus A, then {title} (r=8, q/v) on corpus B", "step", "cross-entropy (nats/token)",
            series, width: 760, height: 420, verticalLines: [pretrain.Count - 0.5]);
        AtomicFile.WriteAllText(LogPath(path), string.Concat(Training.LogLines.Select(l => l + "\n")));
    }

    private static string Fmt(float v) => v.ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>Moving average over 5 steps, so the curve reads well.</summary>
    private static IEnumerable<double> Smooth(IReadOnlyList<float> values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            int lo = Math.Max(0, i - 4);
            double s = 0;
            for (int j = lo; j <= i; j++) s += values[j];
            yield return s / (i - lo + 1);
        }
    }
}
