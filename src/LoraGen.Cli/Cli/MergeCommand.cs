using System.CommandLine;
using System.Numerics;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen merge ADAPTER --base MODEL -o OUT</c>: W += s·B·A for every adapted layer, streamed block by block
/// (float32 compute, the base's dtype, sharding, header and key order kept), other files of the model directory
/// copied, the output built in a temporary directory and moved into place.
/// </summary>
internal static class MergeCommand
{
    /// <summary>Rows are merged in blocks of about this many float32 values.</summary>
    private const int BlockFloats = 1 << 20;

    public static Command Create(CliContext ctx)
    {
        var adapter = new Argument<string>("adapter") { Description = "PEFT adapter directory (or adapter .safetensors)" };
        var baseOpt = new Option<string>("--base", "-b") { Description = "base model directory or .safetensors file", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "output directory", Required = true };
        var safe = new Option<bool>("--safe") { Description = "refuse to write NaN or Inf (names the key)" };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var cmd = new Command("merge", "Merge an adapter into a base checkpoint: W += scaling·B·A (streaming, dtype and sharding kept).")
            { adapter, baseOpt, output, safe, force };
        cmd.SetAction(p => Run(ctx, p.GetValue(adapter)!, p.GetValue(baseOpt)!, p.GetValue(output)!, p.GetValue(safe), p.GetValue(force)));
        return cmd;
    }

    private sealed record Plan(LoraLayerKeys Layer, double Scaling, bool Transposed);

    public static int Run(CliContext ctx, string adapterPath, string basePath, string outputPath, bool safe, bool force)
    {
        using var adapter = AdapterInput.Open(adapterPath);
        var config = adapter.RequireConfig();
        if (config.UseDora)
            throw new CliException(ExitCodes.NotSupported, $"{adapter.ConfigPath}: DoRA adapters ({Contract.ConfigFields.UseDora}) cannot be merged yet.");
        if (adapter.Layout.Unpaired.Count > 0)
            throw CliException.Input($"{adapter.WeightsPath}: key '{adapter.Layout.Unpaired[0]}' has no A/B partner.");
        using var weights = WeightSet.Open(basePath);

        var plans = new Dictionary<string, Plan>(StringComparer.Ordinal);
        foreach (var layer in adapter.Layout.Layers)
        {
            if (!weights.TryGet(layer.BaseKey, out _, out var info))
                throw CliException.Input($"{adapter.WeightsPath}: key '{layer.AKey}' adapts '{layer.BaseKey}', which {basePath} does not have.");
            var problem = LayerShapes.Problem(layer, info.Shape, adapter.Weights.Info(layer.AKey).Shape, adapter.Weights.Info(layer.BKey).Shape,
                config.FanInFanOut, config.RankFor(layer.Path));
            if (problem is not null) throw CliException.Input($"{adapter.WeightsPath}: {problem}.");
            if (!info.DType.IsFloat())
                throw CliException.Input($"{basePath}: key '{layer.BaseKey}' is {info.DType}; only float weights can be merged.");
            plans[layer.BaseKey] = new Plan(layer, config.ScalingFor(layer.Path), LayerShapes.Transposed(layer.Kind, config.FanInFanOut));
        }
        // Saved whole modules (PEFT's modules_to_save) replace the base weight of the same name and shape.
        var replaced = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in adapter.Layout.OtherKeys)
        {
            var baseKey = AdapterLayout.BaseKeyOf(key);
            if (baseKey is null || !weights.TryGet(baseKey, out _, out var info) || !info.Shape.AsSpan().SequenceEqual(adapter.Weights.Info(key).Shape))
                throw new CliException(ExitCodes.NotSupported, $"{adapter.WeightsPath}: key '{key}' is no LoRA factor and no saved copy of a base weight; it cannot be merged.");
            replaced[baseKey] = key;
        }

        using var target = OutputTarget.Begin(outputPath, force, directory: true);
        long total = weights.TotalBytes;
        int merged = 0;
        ctx.WithProgress("merging", total, total > (256L << 20), progress =>
        {
            var chunk = new byte[4 << 20];
            foreach (var shard in weights.Shards)
            {
                using var input = new TensorStream(shard);
                var outFile = Path.Combine(target.TempPath, Path.GetFileName(shard.Path!));
                using (var output = new FileStream(outFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    output.Write(input.HeaderBytes());
                    foreach (var info in shard.Tensors.OrderBy(t => t.Begin))
                    {
                        if (plans.TryGetValue(info.Name, out var plan))
                        {
                            MergeTensor(input, info, adapter, plan, safe, output, progress);
                            merged++;
                        }
                        else if (replaced.TryGetValue(info.Name, out var from))
                        {
                            WriteReplacement(adapter, from, info, output);
                            progress(info.ByteLength);
                        }
                        else input.CopyTo(info, output, chunk, progress);
                    }
                    output.Flush(flushToDisk: true);
                }
            }
            if (weights.IsDirectory) CopyOtherFiles(weights, target.TempPath);
        });
        target.Commit();
        ctx.Console.MarkupLineInterpolated($"merged [green]{merged}[/] layers ({replaced.Count} replaced modules) of {weights.Shards.Count} file(s), {total / 1e6:F1} MB, into [blue]{outputPath}[/]");
        return ExitCodes.Ok;
    }

    /// <summary>Streams one base tensor through W + s·B·A (or its transpose), a block of rows at a time.</summary>
    private static void MergeTensor(TensorStream input, SafetensorsTensorInfo info, AdapterInput adapter, Plan plan, bool safe, Stream output, Action<long> progress)
    {
        int rows = checked((int)info.Shape[0]), cols = checked((int)info.Shape[1]);
        float[] a = adapter.Weights.ReadFloats(plan.Layer.AKey);
        float[] b = adapter.Weights.ReadFloats(plan.Layer.BKey);
        int r = (int)adapter.Weights.Info(plan.Layer.AKey).Shape[0];
        // Each output row gets Σ_k coeff[row, k] · M[k, :]: M = A with coeff = s·B (W is [out, in]); M = Bᵀ with coeff = s·Aᵀ (W stored transposed).
        float[] m, coeff;
        float s = (float)plan.Scaling;
        if (!plan.Transposed)
        {
            m = a;
            coeff = new float[(long)rows * r];
            for (long i = 0; i < coeff.LongLength; i++) coeff[i] = s * b[i];
        }
        else
        {
            m = new float[(long)r * cols];
            for (int o = 0; o < cols; o++) for (int k = 0; k < r; k++) m[(long)k * cols + o] = b[(long)o * r + k];
            coeff = new float[(long)rows * r];
            for (int k = 0; k < r; k++) for (int i = 0; i < rows; i++) coeff[(long)i * r + k] = s * a[(long)k * rows + i];
        }
        int size = info.DType.Size();
        int blockRows = Math.Max(1, BlockFloats / cols);
        var raw = new byte[(long)Math.Min(blockRows, rows) * cols * size];
        var w = new float[(long)Math.Min(blockRows, rows) * cols];
        var delta = new float[cols];
        for (int r0 = 0; r0 < rows; r0 += blockRows)
        {
            int n = Math.Min(blockRows, rows - r0);
            var rawSpan = raw.AsSpan(0, n * cols * size);
            var wSpan = w.AsSpan(0, n * cols);
            input.Read(info, (long)r0 * cols * size, rawSpan);
            SafetensorsDTypes.ToFloat(info.DType, rawSpan, wSpan);
            for (int i = 0; i < n; i++)
            {
                delta.AsSpan().Clear();
                for (int k = 0; k < r; k++)
                {
                    float c = coeff[(long)(r0 + i) * r + k];
                    if (c != 0) Axpy(c, m.AsSpan(k * cols, cols), delta);
                }
                var row = wSpan.Slice(i * cols, cols);
                Add(delta, row);
                if (safe)
                {
                    int bad = IndexOfNonFinite(row);
                    if (bad >= 0)
                    {
                        var at = plan.Transposed ? $"[{r0 + i}, {bad}]" : $"[{r0 + i}, {bad}]";
                        throw new CliException(ExitCodes.NotFinite,
                            $"{input.File.Path}: key '{info.Name}': the merged value at {at} is {row[bad]} (adapter {plan.Layer.AKey}); --safe refuses NaN/Inf, nothing was written.");
                    }
                }
            }
            SafetensorsDTypes.FromFloat(info.DType, wSpan, rawSpan);
            output.Write(rawSpan);
            progress(rawSpan.Length);
        }
    }

    private static void WriteReplacement(AdapterInput adapter, string key, SafetensorsTensorInfo info, Stream output)
    {
        var src = adapter.Weights.Info(key);
        if (src.DType == info.DType) { output.Write(adapter.Weights.RawBytes(key)); return; }
        var f = adapter.Weights.ReadFloats(key);
        var bytes = new byte[info.ByteLength];
        SafetensorsDTypes.FromFloat(info.DType, f, bytes);
        output.Write(bytes);
    }

    private static void CopyOtherFiles(WeightSet weights, string to)
    {
        var shardNames = weights.Shards.Select(s => Path.GetFileName(s.Path!)).ToHashSet(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(weights.Root))
        {
            var name = Path.GetFileName(f);
            if (shardNames.Contains(name) || name.Contains(".loragen-tmp", StringComparison.Ordinal)) continue;
            File.Copy(f, Path.Combine(to, name));
        }
    }

    private static void Axpy(float c, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vc = new Vector<float>(c);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                (new Vector<float>(y[i..]) + vc * new Vector<float>(x[i..])).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] += c * x[i];
    }

    private static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += x[i];
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++) if (!float.IsFinite(x[i])) return i;
        return -1;
    }
}
