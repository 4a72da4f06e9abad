using System.CommandLine;
using System.Globalization;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen diff A B</c>: per common key the max absolute and max relative difference and the cosine similarity,
/// keys only in one side, shape/dtype changes, and a verdict: identical, close (within --atol or --rtol) or different.
/// Exit code 0 for identical or close, 1 for different.
/// </summary>
internal static class DiffCommand
{
    public static Command Create(CliContext ctx)
    {
        var a = new Argument<string>("a") { Description = ".safetensors file, adapter or model directory" };
        var b = new Argument<string>("b") { Description = ".safetensors file, adapter or model directory" };
        var atol = new Option<double>("--atol") { Description = "a key is close when its max absolute difference is at most this", DefaultValueFactory = _ => 1e-6 };
        var rtol = new Option<double>("--rtol") { Description = "… or its max relative difference is at most this", DefaultValueFactory = _ => 1e-3 };
        var all = new Option<bool>("--all") { Description = "list identical keys too" };
        var cmd = new Command("diff", "Compare two checkpoints or adapters key by key.") { a, b, atol, rtol, all };
        cmd.SetAction(p => Run(ctx, p.GetValue(a)!, p.GetValue(b)!, p.GetValue(atol), p.GetValue(rtol), p.GetValue(all)));
        return cmd;
    }

    internal sealed record KeyDiff(string Key, string Note, double MaxAbs, double MaxRel, double Cosine);

    public static int Run(CliContext ctx, string pathA, string pathB, double atol, double rtol, bool all)
    {
        using var a = WeightSet.Open(pathA);
        using var b = WeightSet.Open(pathB);
        var keysA = a.Tensors.Select(t => t.Name).ToList();
        var onlyA = keysA.Where(k => !b.Contains(k)).ToList();
        var onlyB = b.Tensors.Select(t => t.Name).Where(k => !a.Contains(k)).ToList();
        var diffs = new List<KeyDiff>();
        long total = a.TotalBytes;
        ctx.WithProgress("comparing", total, total > (256L << 20), progress =>
        {
            var streams = new Dictionary<SafetensorsFile, TensorStream>();
            TensorStream S(SafetensorsFile f) => streams.TryGetValue(f, out var s) ? s : streams[f] = new TensorStream(f);
            try
            {
                foreach (var key in keysA.Where(b.Contains))
                {
                    a.TryGet(key, out var fa, out var ia);
                    b.TryGet(key, out var fb, out var ib);
                    if (!ia.Shape.AsSpan().SequenceEqual(ib.Shape))
                    {
                        diffs.Add(new KeyDiff(key, $"shape {LayerShapes.Shape(ia)} vs {LayerShapes.Shape(ib)}", double.NaN, double.NaN, double.NaN));
                        continue;
                    }
                    if (!ia.DType.IsFloat() || !ib.DType.IsFloat())
                    {
                        bool same = ia.DType == ib.DType && fa.RawBytes(key).SequenceEqual(fb.RawBytes(key));
                        diffs.Add(new KeyDiff(key, same ? "" : $"{ia.DType} data differs", same ? 0 : double.NaN, same ? 0 : double.NaN, same ? 1 : double.NaN));
                        continue;
                    }
                    var d = Compare(S(fa), ia, S(fb), ib, progress);
                    diffs.Add(d with { Note = ia.DType == ib.DType ? "" : $"{ia.DType} vs {ib.DType}" });
                }
            }
            finally
            {
                foreach (var s in streams.Values) s.Dispose();
            }
        });

        bool Close(KeyDiff d) => d.MaxAbs <= atol || d.MaxRel <= rtol;
        bool identical = onlyA.Count == 0 && onlyB.Count == 0 && diffs.All(d => d.MaxAbs == 0 && !d.Note.StartsWith("shape", StringComparison.Ordinal));
        bool close = onlyA.Count == 0 && onlyB.Count == 0 && diffs.All(Close);
        var table = new Table().AddColumns("key", "max abs", "max rel", "cosine", "note");
        string F(double x) => double.IsNaN(x) ? "-" : x.ToString("G4", CultureInfo.InvariantCulture);
        foreach (var d in diffs.Where(d => all || d.MaxAbs != 0 || d.Note.Length > 0))
            table.AddPlainRow(d.Key, F(d.MaxAbs), F(d.MaxRel), F(d.Cosine), d.Note);
        if (table.Rows.Count > 0) ctx.Console.Write(table);
        foreach (var k in onlyA) ctx.Console.MarkupLine($"[red]only in {Markup.Escape(pathA)}:[/] {Markup.Escape(k)}");
        foreach (var k in onlyB) ctx.Console.MarkupLine($"[red]only in {Markup.Escape(pathB)}:[/] {Markup.Escape(k)}");
        double maxAbs = diffs.Where(d => !double.IsNaN(d.MaxAbs)).Select(d => d.MaxAbs).DefaultIfEmpty(0).Max();
        double minCos = diffs.Where(d => !double.IsNaN(d.Cosine)).Select(d => d.Cosine).DefaultIfEmpty(1).Min();
        string verdict = identical ? "identical" : close ? "close" : "different";
        ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]{verdict}[/]: {diffs.Count} common keys ({diffs.Count(d => d.MaxAbs != 0)} differ), {onlyA.Count} only in a, {onlyB.Count} only in b; max abs {maxAbs:G4}, min cosine {minCos:G6}"));
        return identical || close ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static KeyDiff Compare(TensorStream sa, SafetensorsTensorInfo ia, TensorStream sb, SafetensorsTensorInfo ib, Action<long> progress)
    {
        const int chunk = 1 << 20;
        var ra = new byte[chunk * ia.DType.Size()];
        var rb = new byte[chunk * ib.DType.Size()];
        var fa = new float[chunk];
        var fb = new float[chunk];
        double maxAbs = 0, maxRel = 0, dot = 0, na = 0, nb = 0;
        long n = ia.ElementCount;
        for (long done = 0; done < n; done += chunk)
        {
            int c = (int)Math.Min(chunk, n - done);
            sa.Read(ia, done * ia.DType.Size(), ra.AsSpan(0, c * ia.DType.Size()));
            sb.Read(ib, done * ib.DType.Size(), rb.AsSpan(0, c * ib.DType.Size()));
            SafetensorsDTypes.ToFloat(ia.DType, ra.AsSpan(0, c * ia.DType.Size()), fa.AsSpan(0, c));
            SafetensorsDTypes.ToFloat(ib.DType, rb.AsSpan(0, c * ib.DType.Size()), fb.AsSpan(0, c));
            for (int i = 0; i < c; i++)
            {
                double x = fa[i], y = fb[i];
                if (x.Equals(y)) { dot += x * y; na += x * x; nb += y * y; continue; }
                double d = Math.Abs(x - y);
                if (double.IsNaN(d)) d = double.PositiveInfinity;
                if (d > maxAbs) maxAbs = d;
                double rel = d / Math.Max(Math.Abs(x), Math.Abs(y));
                if (rel > maxRel) maxRel = rel;
                dot += x * y; na += x * x; nb += y * y;
            }
            progress((long)c * ia.DType.Size());
        }
        double cos = na == 0 && nb == 0 ? 1 : na == 0 || nb == 0 ? 0 : dot / Math.Sqrt(na * nb);
        return new KeyDiff(ia.Name, "", maxAbs, maxRel, cos);
    }
}
