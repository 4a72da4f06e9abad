using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>The PyTorch-made references of the VeRA and NoLA tests (tools/make_basis_fixtures.py) and their small model.</summary>
internal static class BasisFixtures
{
    private static readonly Lazy<SafetensorsFile> File = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "basis.safetensors")));

    public static Tensor Load(string key) => File.Value.LoadTensor(key);

    /// <summary>
    /// Two Linear layers of different shapes — q [10, 12] and v [6, 5], no bias — plus an embedding, whose attributes
    /// say plain LoRA (r 4, α 8) on q and v: VeRA/NoLA come from a run-time override or a loaded file.
    /// </summary>
    public sealed class TwoLayers : Module
    {
        public TwoLayers(ulong seed = 1)
        {
            var rng = new Rng(seed);
            Q = new Linear(12, 10, bias: false, rng: rng);
            V = new Linear(5, 6, bias: false, rng: rng);
            Wte = new Embedding(9, 12, rng);
            Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Defaults = new LoraConfig(4, 8), Targets = ["q", "v"] });
        }

        public Linear Q { get; }

        public Linear V { get; }

        public Embedding Wte { get; }

        public LoraModelController Lora { get; }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("wte", Wte);
            yield return ("q", Q);
            yield return ("v", V);
        }
    }
}
