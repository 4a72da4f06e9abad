using System.CommandLine;
using System.Text.Json.Nodes;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen convert PATH --dtype f32|f16|bf16 -o OUT</c>: every float tensor of a .safetensors file (or of every
/// file in an adapter or model directory, other files copied, a sharded index's total size updated) converted,
/// streamed in chunks; names, shapes, order and metadata kept; integer tensors copied unchanged.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create(CliContext ctx)
    {
        var path = new Argument<string>("path") { Description = ".safetensors file, adapter directory or model directory" };
        var dtype = new Option<string>("--dtype", "-t") { Description = "f32, f16 or bf16", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "output file (for a file) or directory", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var cmd = new Command("convert", "Convert the float tensors of a file or directory to another dtype.") { path, dtype, output, force };
        cmd.SetAction(p => Run(ctx, p.GetValue(path)!, DTypeOption.Parse(p.GetValue(dtype)!), p.GetValue(output)!, p.GetValue(force)));
        return cmd;
    }

    public static int Run(CliContext ctx, string path, SafetensorsDType dtype, string outputPath, bool force)
    {
        if (File.Exists(path))
        {
            using var target = OutputTarget.Begin(outputPath, force, directory: false);
            long n = ConvertFile(ctx, path, target.TempPath, dtype);
            target.Commit();
            ctx.Console.MarkupLineInterpolated($"converted {path} to {dtype} ({n} tensors) into [blue]{outputPath}[/]");
            return ExitCodes.Ok;
        }
        if (!Directory.Exists(path)) throw CliException.Input($"{path}: no such file or directory.");
        using (var dirTarget = OutputTarget.Begin(outputPath, force, directory: true))
        {
            long count = 0, totalSize = 0;
            foreach (var f in Directory.GetFiles(path).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(f);
                var dst = Path.Combine(dirTarget.TempPath, name);
                if (name.EndsWith(".safetensors", StringComparison.Ordinal))
                {
                    count += ConvertFile(ctx, f, dst, dtype);
                    using var written = SafetensorsFile.Open(dst);
                    totalSize += written.Tensors.Sum(t => t.ByteLength);
                }
                else if (!name.Contains(".loragen-tmp", StringComparison.Ordinal)) File.Copy(f, dst);
            }
            var index = Path.Combine(dirTarget.TempPath, WeightSet.IndexFile);
            if (File.Exists(index)) PatchIndex(index, totalSize);
            dirTarget.Commit();
            ctx.Console.MarkupLineInterpolated($"converted {path} to {dtype} ({count} tensors) into [blue]{outputPath}[/]");
        }
        return ExitCodes.Ok;
    }

    /// <summary>Converts one file; returns its tensor count.</summary>
    internal static long ConvertFile(CliContext ctx, string src, string dst, SafetensorsDType dtype)
    {
        using var file = SafetensorsFile.Open(src);
        using var input = new TensorStream(file);
        var ordered = file.Tensors.OrderBy(t => t.Begin).ToList();
        SafetensorsDType Out(SafetensorsTensorInfo t) => t.DType.IsFloat() ? dtype : t.DType;
        var writer = new SafetensorsStreamWriter(ordered.Select(t => (t.Name, Out(t), t.Shape)), file.Metadata, keepOrder: true);
        long total = file.Length;
        ctx.WithProgress($"converting {Path.GetFileName(src)}", total, total > (256L << 20), progress =>
        {
            using var output = new FileStream(dst, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            writer.Begin(output);
            const int chunkElems = 1 << 20;
            var raw = new byte[chunkElems * 8];
            var f = new float[chunkElems];
            foreach (var t in ordered)
            {
                if (Out(t) == t.DType)
                {
                    input.CopyTo(t, writer.WriteBytes, raw, progress);
                    continue;
                }
                int inSize = t.DType.Size();
                long done = 0, n = t.ElementCount;
                while (done < n)
                {
                    int c = (int)Math.Min(chunkElems, n - done);
                    input.Read(t, done * inSize, raw.AsSpan(0, c * inSize));
                    SafetensorsDTypes.ToFloat(t.DType, raw.AsSpan(0, c * inSize), f.AsSpan(0, c));
                    writer.WriteFloats(f.AsSpan(0, c));
                    done += c;
                    progress((long)c * inSize);
                }
            }
            writer.Complete();
            output.Flush(flushToDisk: true);
        });
        return ordered.Count;
    }

    private static void PatchIndex(string index, long totalSize)
    {
        var node = JsonNode.Parse(File.ReadAllText(index)) as JsonObject ?? throw CliException.Input($"{index}: not a JSON object.");
        if (node["metadata"] is not JsonObject meta) node["metadata"] = meta = new JsonObject();
        meta["total_size"] = totalSize;
        File.WriteAllText(index, node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}
