using System.Globalization;
using LoraGen.Peft;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen inspect</c> of a VeRA or NoLA adapter: the config fields; the variant, rank and where the frozen random
/// matrices come from (VeRA: the shared projection saved in the file, or regenerated from <c>projection_prng_key</c>
/// with torch's generator; NoLA: <c>nola_seed</c> and the basis generator); per layer its two trainable vectors and
/// their count (VeRA out + r, NoLA k_A + k_B whatever r and the layer's shape); and PEFT's summary line.
/// </summary>
internal static class BasisInspection
{
    public static int Run(CliContext ctx, string path, string? basePath, bool json)
    {
        using var adapter = BasisAdapterInput.Open(path);
        var cfg = adapter.Config;
        var rows = adapter.Paths.Select(p =>
        {
            var first = adapter.Weights.Info(adapter.FirstKey(p));
            var second = adapter.Weights.Info(adapter.SecondKey(p));
            return (Path: p, First: first, Second: second, Trainable: first.ElementCount + second.ElementCount);
        }).ToList();
        long trainable = adapter.TrainableCount;
        string summary = InspectCommand.Summary(trainable, basePath, out long? all);
        string frozen = Frozen(adapter);
        double? scaling = adapter.IsVera ? null : cfg.LoraAlpha / cfg.R;
        using var configFields = InspectCommand.ConfigFieldsOf(adapter.ConfigPath);

        if (json)
        {
            using var w = InspectCommand.JsonOut(ctx);
            w.WriteStartObject();
            w.WriteString("kind", "adapter");
            w.WriteString("variant", adapter.Name);
            w.WriteString(Contract.ConfigFields.PeftType, cfg.PeftType);
            w.WriteString("weights", adapter.WeightsPath);
            w.WriteString("config", adapter.ConfigPath);
            w.WritePropertyName("config_fields");
            if (configFields is null) w.WriteNullValue();
            else configFields.RootElement.WriteTo(w);
            w.WriteNumber("r", cfg.R);
            w.WriteNumber("seed", cfg.Seed);
            if (adapter.IsVera)
            {
                w.WriteString("projection", adapter.HasProjection ? "saved" : "regenerated");
                w.WriteString("generator", "torch.Generator (MT19937), PEFT's _kaiming_init");
            }
            else
            {
                w.WriteString("generator", cfg.BasisGenerator);
                w.WriteNumber(Contract.ConfigFields.NumBasisA, cfg.NumBasisA);
                w.WriteNumber(Contract.ConfigFields.NumBasisB, cfg.NumBasisB);
                w.WriteNumber("scaling", scaling!.Value);
            }
            w.WriteString("frozen", frozen);
            w.WriteStartArray("layers");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("module", r.Path);
                w.WriteString(adapter.IsVera ? "lambda_b" : "alpha", r.First.Name);
                InspectCommand.WriteShape(w, adapter.IsVera ? "lambda_b_shape" : "alpha_shape", r.First.Shape);
                w.WriteString(adapter.IsVera ? "lambda_d" : "beta", r.Second.Name);
                InspectCommand.WriteShape(w, adapter.IsVera ? "lambda_d_shape" : "beta_shape", r.Second.Shape);
                w.WriteString("dtype", r.First.DType.ToString());
                w.WriteNumber("trainable_params", r.Trainable);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            InspectCommand.WriteTail(w, adapter.OtherKeys, trainable, all, summary);
            return ExitCodes.Ok;
        }

        ctx.Console.MarkupLine($"[bold]{adapter.Name} adapter[/] {Markup.Escape(adapter.WeightsPath)}");
        if (configFields is not null) InspectCommand.WriteConfigTable(ctx, configFields, adapter.ConfigPath);
        ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"{adapter.Name}, r = {cfg.R}{(scaling is double s ? $", scaling {s:G6}" : "")}; frozen: {Markup.Escape(frozen)}"));
        var lt = adapter.IsVera
            ? new Table().AddColumns("module", "λ_b", "λ_d", "dtype", "trainable")
            : new Table().AddColumns("module", "α", "β", "dtype", "trainable");
        foreach (var r in rows)
            lt.AddPlainRow(r.Path, LayerShapes.Shape(r.First), LayerShapes.Shape(r.Second),
                r.First.DType == r.Second.DType ? r.First.DType.ToString() : $"{r.First.DType}/{r.Second.DType}", r.Trainable.ToString("N0", CultureInfo.InvariantCulture));
        ctx.Console.Write(lt);
        foreach (var k in adapter.OtherKeys) ctx.Console.MarkupLine($"[grey]other key:[/] {Markup.Escape(k)}");
        ctx.Console.MarkupLine($"{rows.Count} layers; {Markup.Escape(summary)}");
        return ExitCodes.Ok;
    }

    /// <summary>Where the frozen random matrices come from, in words.</summary>
    private static string Frozen(BasisAdapterInput adapter)
    {
        var cfg = adapter.Config;
        string seed = cfg.Seed.ToString(CultureInfo.InvariantCulture);
        if (!adapter.IsVera)
            return $"k_A = {cfg.NumBasisA} A bases [r, in] and k_B = {cfg.NumBasisB} B bases [out, r] per layer, regenerated from {Contract.ConfigFields.NolaSeed} {seed} by {cfg.BasisGenerator}";
        if (!adapter.HasProjection)
            return $"shared projection regenerated from {Contract.ConfigFields.ProjectionPrngKey} {seed} (torch.Generator, MT19937, as PEFT), sized for the largest adapted layer";
        string Shape(string key) => adapter.Weights.Contains(key) ? "[" + string.Join(", ", adapter.Weights.Info(key).Shape) + "]" : "missing";
        return $"shared projection saved in the file: {Contract.PeftKeys.VeraSharedA} {Shape(Contract.PeftKeys.VeraSharedA)}, {Contract.PeftKeys.VeraSharedB} {Shape(Contract.PeftKeys.VeraSharedB)} ({Contract.ConfigFields.ProjectionPrngKey} {seed})";
    }
}
