using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen inspect PATH [--base MODEL] [--json]</c>: an adapter (config fields, per-layer r, alpha, scaling,
/// shapes, dtypes, trainable parameters and PEFT's summary line), a .safetensors file (tensors and metadata) or a
/// model directory (the layers LoRA could target, grouped by name suffix). VeRA and NoLA adapters: see <see cref="BasisInspection"/>.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(CliContext ctx)
    {
        var path = new Argument<string>("path") { Description = "adapter directory, .safetensors file or model directory" };
        var baseOpt = new Option<string?>("--base", "-b") { Description = "base model, for PEFT's 'all params' summary line" };
        var json = new Option<bool>("--json") { Description = "write JSON instead of tables" };
        var cmd = new Command("inspect", "Show what an adapter, a .safetensors file or a model directory holds.") { path, baseOpt, json };
        cmd.SetAction(p => Run(ctx, p.GetValue(path)!, p.GetValue(baseOpt), p.GetValue(json)));
        return cmd;
    }

    public static int Run(CliContext ctx, string path, string? basePath, bool json)
    {
        bool adapterDir = Directory.Exists(path) && (File.Exists(Path.Combine(path, AdapterKeys.WeightsFile)) || File.Exists(Path.Combine(path, AdapterKeys.ConfigFile)));
        if ((adapterDir || File.Exists(path)) && BasisAdapterInput.IsBasis(path)) return BasisInspection.Run(ctx, path, basePath, json);   // VeRA, NoLA
        if (adapterDir) return InspectAdapter(ctx, path, basePath, json);
        if (Directory.Exists(path)) return InspectModel(ctx, path, json);
        if (!File.Exists(path)) throw CliException.Input($"{path}: no such file or directory.");
        bool isAdapter;
        using (var f = SafetensorsFile.Open(path)) isAdapter = AdapterLayout.Of(f).Layers.Count > 0;
        return isAdapter ? InspectAdapter(ctx, path, basePath, json) : InspectFile(ctx, path, json);
    }

    private static int InspectAdapter(CliContext ctx, string path, string? basePath, bool json)
    {
        using var adapter = AdapterInput.Open(path);
        var config = adapter.Config;
        var rows = adapter.Layout.Layers.Select(l =>
        {
            var a = adapter.Weights.Info(l.AKey);
            var b = adapter.Weights.Info(l.BKey);
            return (Layer: l, A: a, B: b, R: (int)a.Shape[0], Alpha: config?.AlphaFor(l.Path), Scaling: config?.ScalingFor(l.Path));
        }).ToList();
        long trainable = adapter.Weights.Tensors.Sum(t => t.ElementCount);
        string summary = Summary(trainable, basePath, out long? all);
        var configFields = ConfigFieldsOf(adapter.ConfigPath);

        if (json)
        {
            using var w = JsonOut(ctx);
            w.WriteStartObject();
            w.WriteString("kind", "adapter");
            w.WriteString("weights", adapter.WeightsPath);
            if (adapter.ConfigPath is not null) w.WriteString("config", adapter.ConfigPath);
            w.WritePropertyName("config_fields");
            if (configFields is null) w.WriteNullValue();
            else configFields.RootElement.WriteTo(w);
            w.WriteStartArray("layers");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("module", r.Layer.Path);
                w.WriteString("kind", r.Layer.Kind.ToString());
                w.WriteNumber("r", r.R);
                if (r.Alpha is double al) w.WriteNumber("alpha", al); else w.WriteNull("alpha");
                if (r.Scaling is double sc) w.WriteNumber("scaling", sc); else w.WriteNull("scaling");
                WriteShape(w, "a_shape", r.A.Shape);
                WriteShape(w, "b_shape", r.B.Shape);
                w.WriteString("a_dtype", r.A.DType.ToString());
                w.WriteString("b_dtype", r.B.DType.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            WriteTail(w, adapter.Layout.OtherKeys.Concat(adapter.Layout.Unpaired), trainable, all, summary);
            return ExitCodes.Ok;
        }

        ctx.Console.MarkupLine($"[bold]adapter[/] {Markup.Escape(adapter.WeightsPath)}");
        if (configFields is not null) WriteConfigTable(ctx, configFields, adapter.ConfigPath!);
        else ctx.Console.MarkupLine("[yellow]no adapter config next to the weights: r, alpha and scaling unknown[/]");
        var lt = new Table().AddColumns("module", "kind", "r", "alpha", "scaling", "A", "B", "dtype");
        foreach (var r in rows)
            lt.AddPlainRow(r.Layer.Path, r.Layer.Kind.ToString(), r.R.ToString(CultureInfo.InvariantCulture),
                r.Alpha?.ToString("G6", CultureInfo.InvariantCulture) ?? "?", r.Scaling?.ToString("G6", CultureInfo.InvariantCulture) ?? "?",
                LayerShapes.Shape(r.A), LayerShapes.Shape(r.B), r.A.DType == r.B.DType ? r.A.DType.ToString() : $"{r.A.DType}/{r.B.DType}");
        ctx.Console.Write(lt);
        foreach (var k in adapter.Layout.OtherKeys) ctx.Console.MarkupLine($"[grey]other key:[/] {Markup.Escape(k)}");
        foreach (var k in adapter.Layout.Unpaired) ctx.Console.MarkupLine($"[red]unpaired factor:[/] {Markup.Escape(k)}");
        ctx.Console.MarkupLine($"{rows.Count} layers; {Markup.Escape(summary)}");
        return ExitCodes.Ok;
    }

    private static int InspectFile(CliContext ctx, string path, bool json)
    {
        using var file = SafetensorsFile.Open(path);
        if (json)
        {
            using var w = JsonOut(ctx);
            w.WriteStartObject();
            w.WriteString("kind", "safetensors");
            w.WriteString("file", path);
            w.WriteStartObject("metadata");
            foreach (var kv in file.Metadata) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            w.WriteStartArray("tensors");
            foreach (var t in file.Tensors) WriteTensor(w, t);
            w.WriteEndArray();
            w.WriteNumber("params", file.Tensors.Sum(t => t.ElementCount));
            w.WriteEndObject();
            return ExitCodes.Ok;
        }
        var table = new Table().AddColumns("tensor", "dtype", "shape", "bytes").Title(Markup.Escape(path));
        foreach (var t in file.Tensors) table.AddPlainRow(t.Name, t.DType.ToString(), LayerShapes.Shape(t), t.ByteLength.ToString("N0", CultureInfo.InvariantCulture));
        ctx.Console.Write(table);
        foreach (var kv in file.Metadata) ctx.Console.MarkupLine($"[grey]metadata[/] {Markup.Escape(kv.Key)} = {Markup.Escape(kv.Value)}");
        ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"{file.Tensors.Count} tensors, {file.Tensors.Sum(t => t.ElementCount):N0} params"));
        return ExitCodes.Ok;
    }

    private static int InspectModel(CliContext ctx, string path, bool json)
    {
        using var weights = WeightSet.Open(path);
        // Linear-shaped weights (2-D "….weight"), grouped by the module name's last segment: the names target_modules takes.
        var groups = weights.Tensors
            .Where(t => t.Shape.Length == 2 && t.Name.EndsWith(Contract.PeftKeys.WeightSuffix, StringComparison.Ordinal))
            .GroupBy(t => ModulePath.LastSegment(t.Name[..^Contract.PeftKeys.WeightSuffix.Length]))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Count: g.Count(), Shapes: g.Select(LayerShapes.Shape).Distinct().ToList(), DTypes: g.Select(t => t.DType.ToString()).Distinct().ToList()))
            .ToList();
        long parameters = weights.Tensors.Sum(t => t.ElementCount);
        if (json)
        {
            using var w = JsonOut(ctx);
            w.WriteStartObject();
            w.WriteString("kind", "model");
            w.WriteString("directory", path);
            w.WriteStartArray("files");
            foreach (var s in weights.Shards) w.WriteStringValue(Path.GetFileName(s.Path));
            w.WriteEndArray();
            w.WriteNumber("tensors", weights.Tensors.Count());
            w.WriteNumber("params", parameters);
            w.WriteStartArray("targetable");
            foreach (var g in groups)
            {
                w.WriteStartObject();
                w.WriteString("name", g.Name);
                w.WriteNumber("count", g.Count);
                w.WriteStartArray("shapes");
                foreach (var s in g.Shapes) w.WriteStringValue(s);
                w.WriteEndArray();
                w.WriteStartArray("dtypes");
                foreach (var s in g.DTypes) w.WriteStringValue(s);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            return ExitCodes.Ok;
        }
        var table = new Table().AddColumns("target name", "layers", "shapes", "dtype").Title(Markup.Escape(path));
        foreach (var g in groups)
            table.AddPlainRow(g.Name, g.Count.ToString(CultureInfo.InvariantCulture), string.Join(" ", g.Shapes), string.Join(" ", g.DTypes));
        ctx.Console.Write(table);
        ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"{weights.Shards.Count} file(s), {weights.Tensors.Count()} tensors, {parameters:N0} params; 2-D weights above are what target modules can name"));
        return ExitCodes.Ok;
    }

    internal static JsonDocument? ConfigFieldsOf(string? configPath)
    {
        if (configPath is null) return null;
        try { return JsonDocument.Parse(File.ReadAllBytes(configPath)); }
        catch (JsonException e) { throw CliException.Input($"{configPath}: not valid JSON ({e.Message}).", e); }
    }

    /// <summary>PEFT's summary line (<c>print_trainable_parameters</c>); with a base, its parameters counted into "all params".</summary>
    internal static string Summary(long trainable, string? basePath, out long? all)
    {
        all = null;
        if (basePath is not null)
        {
            using var weights = WeightSet.Open(basePath);
            all = weights.Tensors.Sum(t => t.ElementCount) + trainable;
        }
        return all is long n
            ? string.Create(CultureInfo.InvariantCulture, $"trainable params: {trainable:N0} || all params: {n:N0} || trainable%: {100.0 * trainable / n:F4}")
            : string.Create(CultureInfo.InvariantCulture, $"trainable params: {trainable:N0}");
    }

    /// <summary>The JSON object's closing fields, the same for every adapter kind: other keys, counts, summary.</summary>
    internal static void WriteTail(Utf8JsonWriter w, IEnumerable<string> otherKeys, long trainable, long? all, string summary)
    {
        w.WriteStartArray("other_keys");
        foreach (var k in otherKeys) w.WriteStringValue(k);
        w.WriteEndArray();
        w.WriteNumber("trainable_params", trainable);
        if (all is long a) w.WriteNumber("all_params", a);
        w.WriteString("summary", summary);
        w.WriteEndObject();
    }

    /// <summary>adapter_config.json's fields as a two-column table titled with its path.</summary>
    internal static void WriteConfigTable(CliContext ctx, JsonDocument configFields, string configPath)
    {
        var ct = new Table().AddColumns("config field", "value").Title(Markup.Escape(configPath));
        foreach (var p in configFields.RootElement.EnumerateObject())
            ct.AddPlainRow(p.Name, Compact(p.Value));
        ctx.Console.Write(ct);
    }

    internal static string Compact(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText().ReplaceLineEndings(" ");

    internal static Utf8JsonWriter JsonOut(CliContext ctx) => JsonTextOut.Create(ctx.Output);

    internal static void WriteShape(Utf8JsonWriter w, string name, long[] shape)
    {
        w.WriteStartArray(name);
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    private static void WriteTensor(Utf8JsonWriter w, SafetensorsTensorInfo t)
    {
        w.WriteStartObject();
        w.WriteString("name", t.Name);
        w.WriteString("dtype", t.DType.ToString());
        WriteShape(w, "shape", t.Shape);
        w.WriteNumber("bytes", t.ByteLength);
        w.WriteEndObject();
    }
}
