using System.CommandLine;
using LoraGen.Contract;
using LoraGen.Peft;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen validate ADAPTER --base MODEL</c>: every adapter key must map to a base weight of a fitting shape.
/// Reports <b>missing</b> (a base layer the config targets has no A/B), <b>unexpected</b> (an adapter key whose
/// layer the base lacks, or that is no LoRA factor) and <b>mismatched</b> (shapes or rank that do not fit), by name.
/// Exit code 0 when clean, 1 otherwise.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create(CliContext ctx)
    {
        var adapter = new Argument<string>("adapter") { Description = "PEFT adapter directory (or adapter .safetensors)" };
        var baseOpt = new Option<string>("--base", "-b") { Description = "base model directory or .safetensors file", Required = true };
        var cmd = new Command("validate", "Check that an adapter fits a base checkpoint: missing, unexpected and mismatched keys.") { adapter, baseOpt };
        cmd.SetAction(p => Run(ctx, p.GetValue(adapter)!, p.GetValue(baseOpt)!));
        return cmd;
    }

    internal sealed record Finding(string Kind, string Key, string Detail);

    public static int Run(CliContext ctx, string adapterPath, string basePath)
    {
        using var adapter = AdapterInput.Open(adapterPath);
        using var weights = WeightSet.Open(basePath);
        var findings = Check(adapter, weights, out string? note);
        var table = new Table().AddColumns("problem", "key", "detail");
        foreach (var f in findings) table.AddPlainRow(f.Kind, f.Key, f.Detail);
        if (findings.Count > 0) ctx.Console.Write(table);
        if (note is not null) ctx.Console.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
        int missing = findings.Count(f => f.Kind == "missing"), unexpected = findings.Count(f => f.Kind == "unexpected"), mismatched = findings.Count(f => f.Kind == "mismatched");
        ctx.Console.MarkupLine(findings.Count == 0
            ? $"[green]ok[/]: {adapter.Layout.Layers.Count} layers of {Markup.Escape(adapter.WeightsPath)} fit {Markup.Escape(basePath)}"
            : $"[red]invalid[/]: {missing} missing, {unexpected} unexpected, {mismatched} mismatched ({Markup.Escape(adapter.WeightsPath)} against {Markup.Escape(basePath)})");
        return findings.Count == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    internal static List<Finding> Check(AdapterInput adapter, WeightSet weights, out string? note)
    {
        note = null;
        var findings = new List<Finding>();
        var config = adapter.Config;
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in adapter.Layout.Layers)
        {
            covered.Add(layer.BaseKey);
            if (!weights.TryGet(layer.BaseKey, out _, out var info))
            {
                findings.Add(new("unexpected", layer.AKey, $"the base has no '{layer.BaseKey}'"));
                continue;
            }
            var problem = LayerShapes.Problem(layer, info.Shape, adapter.Weights.Info(layer.AKey).Shape, adapter.Weights.Info(layer.BKey).Shape,
                config?.FanInFanOut ?? false, config?.RankFor(layer.Path));
            if (problem is not null) findings.Add(new("mismatched", layer.AKey, problem));
        }
        foreach (var key in adapter.Layout.Unpaired) findings.Add(new("unexpected", key, "a LoRA factor without its A/B partner"));
        foreach (var key in adapter.Layout.OtherKeys)
        {
            var baseKey = AdapterLayout.BaseKeyOf(key);
            if (baseKey is null || !weights.TryGet(baseKey, out _, out var info))
                findings.Add(new("unexpected", key, "no LoRA factor and no base weight of that name"));
            else if (!info.Shape.AsSpan().SequenceEqual(adapter.Weights.Info(key).Shape))
                findings.Add(new("mismatched", key, $"{LayerShapes.Shape(adapter.Weights.Info(key))} but base '{baseKey}' is {LayerShapes.Shape(info)}"));
        }
        if (config is null) note = "no adapter config: targeted layers without A/B cannot be listed";
        else if (config.TargetModules is { IsSingle: true } t && t.Single == ConfigFields.AllLinear)
            note = "targets all linear layers: which base weights are Linear is not recorded in a checkpoint, so missing layers are not listed";
        else
        {
            foreach (var info in weights.Tensors)
            {
                if (info.Shape.Length != 2 || !info.Name.EndsWith(PeftKeys.WeightSuffix, StringComparison.Ordinal) || covered.Contains(info.Name)) continue;
                var path = info.Name[..^PeftKeys.WeightSuffix.Length];
                if (config.IsTargeted(path, LayerKind.Linear))
                    findings.Add(new("missing", AdapterKeys.A(path, LayerKind.Linear), $"the config targets '{path}' but the adapter has no A/B for it"));
            }
        }
        return findings;
    }
}
