using System.CommandLine;
using System.Globalization;
using LoraGen.Combine;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using Spectre.Console;

namespace LoraGen.Cli;

/// <summary>
/// <c>loragen combine A B … --weights 0.7,0.3 --method TYPE [--density 0.5] [--majority-sign total|frequency]
/// [--svd-rank K] [--svd-clamp Q] -o OUT</c>: PEFT's <c>add_weighted_adapter</c> with every one of its combination types
/// (<see cref="CombinationMethods.Names"/>), through the one backend-neutral implementation
/// (<see cref="AdapterCombination"/>); the result is an adapter directory saved as one unit.
/// </summary>
internal static class CombineCommand
{
    public static Command Create(CliContext ctx)
    {
        var adapters = new Argument<string[]>("adapters") { Description = "two or more PEFT adapter directories", Arity = ArgumentArity.OneOrMore };
        var weights = new Option<string?>("--weights", "-w") { Description = "comma-separated weights, one per adapter (default: all 1)" };
        var method = new Option<string>("--method", "-m") { Description = string.Join(", ", CombinationMethods.Names), DefaultValueFactory = _ => "linear" };
        method.AcceptOnlyFromAmong([.. CombinationMethods.Names]);
        var density = new Option<double?>("--density") { Description = "fraction of entries kept by ties, dare_linear, dare_ties, magnitude_prune and their _svd forms (PEFT's density)" };
        var sign = new Option<string>("--majority-sign") { Description = "how ties and dare_ties (and their _svd forms) elect signs: total or frequency (PEFT's majority_sign_method)", DefaultValueFactory = _ => "total" };
        sign.AcceptOnlyFromAmong("total", "frequency");
        var svdRank = new Option<int?>("--svd-rank") { Description = "rank of the svd and *_svd results (PEFT's svd_rank; default: the largest input rank)" };
        var svdClamp = new Option<double?>("--svd-clamp") { Description = "quantile in [0, 1] at which the svd and *_svd factors are clamped (PEFT's svd_clamp; default: none)" };
        var seed = new Option<ulong>("--seed") { Description = "seed of dare's random drops", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--output", "-o") { Description = "output adapter directory", Required = true };
        var force = new Option<bool>("--force") { Description = "replace an existing output" };
        var cmd = new Command("combine", "Combine adapters into one (PEFT's add_weighted_adapter: " + string.Join(", ", CombinationMethods.Names) + ").")
            { adapters, weights, method, density, sign, svdRank, svdClamp, seed, output, force };
        cmd.SetAction(p => Run(ctx, p.GetValue(adapters)!, p.GetValue(weights), p.GetValue(method)!, p.GetValue(output)!, p.GetValue(force),
            p.GetValue(density), p.GetValue(seed), p.GetValue(sign)!, p.GetValue(svdRank), p.GetValue(svdClamp)));
        return cmd;
    }

    public static int Run(CliContext ctx, string[] paths, string? weightList, string methodName, string outputPath, bool force,
        double? density = null, ulong seed = 0, string majoritySign = "total", int? svdRank = null, double? svdClamp = null)
    {
        if (!CombinationMethods.TryParse(methodName, out var method))
            throw new CliException(ExitCodes.Usage, $"--method: '{methodName}' is not one of {string.Join(", ", CombinationMethods.Names)}.");
        if (CombinationMethods.NeedsDensity(method) && density is not (> 0 and <= 1))
            throw new CliException(ExitCodes.Usage, $"--density: {methodName} needs a density in (0, 1]{(density is null ? "" : $", got {density}")}.");
        var sign = majoritySign switch
        {
            "total" => MajoritySignMethod.Total,
            "frequency" => MajoritySignMethod.Frequency,
            _ => throw new CliException(ExitCodes.Usage, $"--majority-sign: '{majoritySign}' is not total or frequency."),
        };
        if ((svdRank is not null || svdClamp is not null) && !CombinationMethods.IsSvd(method))
            throw new CliException(ExitCodes.Usage, $"--svd-rank and --svd-clamp apply to the svd types ({string.Join(", ", CombinationMethods.Names.Where(n => CombinationMethods.IsSvd(CombinationMethods.Parse(n))))}), not {methodName}.");
        if (svdRank is < 1) throw new CliException(ExitCodes.Usage, $"--svd-rank: must be at least 1, got {svdRank}.");
        if (svdClamp is { } q && !(q >= 0 && q <= 1)) throw new CliException(ExitCodes.Usage, $"--svd-clamp: must be a quantile in [0, 1], got {q}.");
        var weights = ParseWeights(weightList, paths.Length);
        var inputs = new List<AdapterInput>();
        try
        {
            foreach (var p in paths) inputs.Add(AdapterInput.Open(p));
            var configs = inputs.Select(i => i.RequireConfig()).ToList();
            for (int i = 0; i < inputs.Count; i++)
                if (inputs[i].Layout.Unpaired.Count > 0 || inputs[i].Layout.OtherKeys.Count > 0)
                    throw CliException.Input($"{inputs[i].WeightsPath}: key '{inputs[i].Layout.Unpaired.Concat(inputs[i].Layout.OtherKeys).First()}' is no A/B pair; only LoRA layers can be combined.");
            int rank;
            AdapterConfig config;
            try
            {
                rank = svdRank ?? AdapterCombination.CombinedRank(method, configs.Select(c => c.R).ToList());
                config = AdapterCombination.CombineConfigs(configs, rank);
            }
            catch (ArgumentException e)
            {
                throw CliException.Input($"{string.Join(", ", paths)}: {e.Message}", e);
            }
            var layers = inputs.SelectMany(i => i.Layout.Layers.Select(l => (l.Path, l.Kind))).Distinct().OrderBy(l => l.Path, StringComparer.Ordinal).ToList();
            var entries = new List<SafetensorsEntry>();
            foreach (var (path, kind) in layers)
            {
                var factors = new LoraFactors?[inputs.Count];
                SafetensorsDType dtype = SafetensorsDType.F32;
                bool first = true;
                for (int i = 0; i < inputs.Count; i++)
                {
                    var l = inputs[i].Layout.Layers.FirstOrDefault(x => x.Path == path && x.Kind == kind);
                    if (l is null) continue;
                    var ia = inputs[i].Weights.Info(l.AKey);
                    var ib = inputs[i].Weights.Info(l.BKey);
                    if (first) { dtype = ia.DType.IsWritableFromFloat() ? ia.DType : SafetensorsDType.F32; first = false; }
                    factors[i] = new LoraFactors(inputs[i].Weights.ReadFloats(l.AKey), inputs[i].Weights.ReadFloats(l.BKey),
                        (int)ia.Shape[0], (int)ia.Shape[1], (int)ib.Shape[0], configs[i].ScalingFor(path));
                }
                LoraFactors combined;
                var options = density is { } d ? new TaskArithmeticOptions(d, sign, seed + (ulong)entries.Count) : null;
                try { combined = AdapterCombination.Combine(method, factors, weights, rank, options, svdClamp); }
                catch (ArgumentException e) { throw CliException.Input($"layer '{path}' ({AdapterKeys.A(path, kind)}): {e.Message}", e); }
                entries.Add(SafetensorsEntry.FromFloats(AdapterKeys.A(path, kind), [combined.Rank, combined.InFeatures], combined.A, dtype));
                entries.Add(SafetensorsEntry.FromFloats(AdapterKeys.B(path, kind), [combined.OutFeatures, combined.Rank], combined.B, dtype));
            }
            using var target = OutputTarget.Begin(outputPath, force, directory: true);
            AdapterDirectory.Save(target.TempPath, config, entries);
            target.Commit();
            ctx.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"combined {inputs.Count} adapters ({methodName}, weights {string.Join(", ", weights)}) into {layers.Count} layers of rank {rank} in [blue]{Markup.Escape(outputPath)}[/]"));
            return ExitCodes.Ok;
        }
        finally
        {
            foreach (var i in inputs) i.Dispose();
        }
    }

    private static double[] ParseWeights(string? list, int count)
    {
        if (list is null) return Enumerable.Repeat(1.0, count).ToArray();
        var parts = list.Split(',', StringSplitOptions.TrimEntries);
        var w = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out w[i]) || !double.IsFinite(w[i]))
                throw new CliException(ExitCodes.Usage, $"--weights: '{parts[i]}' is not a number.");
        if (w.Length != count) throw new CliException(ExitCodes.Usage, $"--weights: {w.Length} weights for {count} adapters.");
        return w;
    }
}
