using System.Globalization;
using System.Text;
using LoraGen.IO;

namespace TinyGpt.Lora;

/// <summary>
/// Writes the loss curves as a small standalone SVG (no dependencies), atomically, and next to it the JSONL training
/// log (<c>loss.jsonl</c>: step, phase, loss, lr, tokens_per_s per line) that <c>loragen plot</c> draws with
/// ScottPlot. The SVG stays hand-written: the sample publishes as NativeAOT with no trim warning allowed, and
/// ScottPlot (SkiaSharp) has not been shown AOT-clean; for a ScottPlot chart run <c>loragen plot loss.jsonl -o loss.png</c>.
/// </summary>
public static class LossChart
{
    /// <summary>The training log's path for a chart at <paramref name="chartPath"/> (the same name, <c>.jsonl</c>).</summary>
    public static string LogPath(string chartPath) => Path.ChangeExtension(chartPath, ".jsonl");

    /// <summary>Writes the chart to <paramref name="path"/> and <see cref="Training"/>'s log to <see cref="LogPath"/>.</summary>
    public static void Write(string path, IReadOnlyList<float> pretrain, IReadOnlyList<float> finetune, float baseValB, float loraValB)
    {
        const int W = 760, H = 380, L = 56, R = 20, T = 60, B = 44;
        var all = pretrain.Concat(finetune).Append(baseValB).Append(loraValB).ToList();
        double yMax = Math.Ceiling(all.Max() * 2) / 2, yMin = Math.Max(0, Math.Floor(all.Min() * 2) / 2);
        int steps = pretrain.Count + finetune.Count;
        string X(double i) => (L + (W - L - R) * i / Math.Max(1, steps - 1)).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double v) => (T + (H - T - B) * (yMax - v) / Math.Max(1e-6, yMax - yMin)).ToString("F1", CultureInfo.InvariantCulture);
        string Line(IReadOnlyList<float> values, int offset) =>
            string.Join(" ", Smooth(values).Select((v, i) => $"{X(offset + i)},{Y(v)}"));

        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{L}\" y=\"22\" font-size=\"15\">TinyGpt: pre-training on corpus A, then LoRA (r=8, q/v) on corpus B</text>");
        for (double v = yMin; v <= yMax + 1e-9; v += 0.5)
        {
            svg.AppendLine($"<line x1=\"{L}\" x2=\"{W - R}\" y1=\"{Y(v)}\" y2=\"{Y(v)}\" stroke=\"#eee\"/>");
            svg.AppendLine($"<text x=\"{L - 8}\" y=\"{Y(v)}\" text-anchor=\"end\" dy=\"4\">{v.ToString("F1", CultureInfo.InvariantCulture)}</text>");
        }
        svg.AppendLine($"<line x1=\"{X(pretrain.Count - 0.5)}\" x2=\"{X(pretrain.Count - 0.5)}\" y1=\"{T}\" y2=\"{H - B}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>");
        svg.AppendLine($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.6\" points=\"{Line(pretrain, 0)}\"/>");
        svg.AppendLine($"<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.6\" points=\"{Line(finetune, pretrain.Count)}\"/>");
        svg.AppendLine($"<circle cx=\"{X(pretrain.Count)}\" cy=\"{Y(baseValB)}\" r=\"4\" fill=\"#d62728\" fill-opacity=\"0.3\" stroke=\"#d62728\"/>");
        svg.AppendLine($"<circle cx=\"{X(steps - 1)}\" cy=\"{Y(loraValB)}\" r=\"4\" fill=\"#d62728\"/>");
        // Legend under the title.
        svg.AppendLine($"<line x1=\"{L}\" x2=\"{L + 18}\" y1=\"40\" y2=\"40\" stroke=\"#1f77b4\" stroke-width=\"2\"/>");
        svg.AppendLine($"<text x=\"{L + 24}\" y=\"44\" fill=\"#1f77b4\">train loss on A (pre-training, all weights)</text>");
        svg.AppendLine($"<line x1=\"{L + 290}\" x2=\"{L + 308}\" y1=\"40\" y2=\"40\" stroke=\"#d62728\" stroke-width=\"2\"/>");
        svg.AppendLine($"<text x=\"{L + 314}\" y=\"44\" fill=\"#d62728\">train loss on B (LoRA only) · ○ val B before {Fmt(baseValB)} · ● after {Fmt(loraValB)}</text>");
        svg.AppendLine($"<text x=\"{(L + W - R) / 2}\" y=\"{H - 10}\" text-anchor=\"middle\">step</text>");
        svg.AppendLine($"<text x=\"14\" y=\"{(T + H - B) / 2}\" transform=\"rotate(-90 14 {(T + H - B) / 2})\" text-anchor=\"middle\">cross-entropy (nats/char)</text>");
        svg.AppendLine("</svg>");
        AtomicFile.WriteAllText(path, svg.ToString());
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
