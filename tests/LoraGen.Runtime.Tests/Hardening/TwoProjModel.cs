using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Ops;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Runtime.Tests.Hardening;

/// <summary>A hand-written two-layer model (q_proj, v_proj) with a <c>Lora</c> facade, as the generator would emit it.</summary>
internal sealed class TwoProjModel : Module
{
    public const int In = 8, Out = 6;

    public TwoProjModel()
    {
        Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Targets = ["q_proj", "v_proj"] });
    }

    public Linear Q { get; } = new(In, Out, rng: new Rng(11));

    public Linear V { get; } = new(In, Out, rng: new Rng(12));

    public LoraModelController Lora { get; }

    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("q_proj", Q);
        yield return ("v_proj", V);
    }

    public Tensor Forward(Tensor x) => Q.Forward(x) + V.Forward(x);

    /// <summary>A snapshot of every base weight, for bit-identity checks.</summary>
    public float[][] BaseWeights() => StateDict().Select(kv => kv.Value.ToArray()).ToArray();

    /// <summary>
    /// Writes an adapter directory by hand: rank-<paramref name="rank"/> A/B for both layers (B non-zero) and
    /// <paramref name="configJson"/> verbatim as its config; <paramref name="poison"/> (if set) goes into v_proj's B.
    /// </summary>
    public static void WriteAdapter(string dir, string configJson, int rank = 4, float? poison = null)
    {
        Directory.CreateDirectory(dir);
        var entries = new List<SafetensorsEntry>();
        var rng = new Rng(99);
        foreach (var path in new[] { "q_proj", "v_proj" })
        {
            var a = Tensor.Randn(rng, 0.3f, rank, In);
            var b = Tensor.Randn(rng, 0.3f, Out, rank);
            if (poison is { } p && path == "v_proj") b.Data[3] = p;
            entries.Add(a.ToEntry(AdapterKeys.A(path, LayerKind.Linear)));
            entries.Add(b.ToEntry(AdapterKeys.B(path, LayerKind.Linear)));
        }
        SafetensorsWriter.Save(Path.Combine(dir, AdapterKeys.WeightsFile), entries, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(dir, AdapterKeys.ConfigFile), configJson);
    }
}
