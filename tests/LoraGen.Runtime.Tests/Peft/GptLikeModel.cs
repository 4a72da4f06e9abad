using LoraGen.Lora;
using LoraGen.Nn;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Runtime.Tests.Peft;

/// <summary>
/// A hand-written GPT-2-shaped tree, as the generator would emit it: <c>transformer.wte</c> (Embedding),
/// <c>transformer.h.{0,1}.attn.{q,k,v}_proj</c> (Linear) and <c>lm_head</c> (Linear) — the paths PEFT sees in a
/// Hugging Face model, so <c>layers_pattern "h"</c> works as in PEFT (the index follows ".h.").
/// </summary>
internal sealed class GptLikeModel : Module
{
    public const int Vocab = 10, Dim = 8;

    public sealed class Attn : Module
    {
        public Linear Q { get; }
        public Linear K { get; }
        public Linear V { get; }

        public Attn(Rng rng)
        {
            Q = new Linear(Dim, Dim, rng: rng);
            K = new Linear(Dim, Dim, rng: rng);
            V = new Linear(Dim, Dim, rng: rng);
        }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("q_proj", Q);
            yield return ("k_proj", K);
            yield return ("v_proj", V);
        }
    }

    public sealed class Block(Rng rng) : Module
    {
        public Attn Attention { get; } = new(rng);

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("attn", Attention);
        }
    }

    public sealed class Body : Module
    {
        public Embedding Wte { get; }
        public Block[] H { get; }

        public Body(Rng rng)
        {
            Wte = new Embedding(Vocab, Dim, rng);
            H = [new Block(rng), new Block(rng)];
        }

        public override IEnumerable<(string Name, Module Module)> Children()
        {
            yield return ("wte", Wte);
            for (int i = 0; i < H.Length; i++) yield return ($"h.{i}", H[i]);
        }
    }

    public GptLikeModel(params string[] targets)
    {
        var rng = new Rng(7);
        Transformer = new Body(rng);
        LmHead = new Linear(Dim, Vocab, rng: rng);
        Lora = new LoraModelController(this, LoraModelOptions.FromFieldsOnly with { Targets = targets.Length == 0 ? ["q_proj", "v_proj"] : targets });
    }

    public Body Transformer { get; }
    public Linear LmHead { get; }
    public LoraModelController Lora { get; }

    public override IEnumerable<(string Name, Module Module)> Children()
    {
        yield return ("transformer", Transformer);
        yield return ("lm_head", LmHead);
    }

    /// <summary>The layer at a dotted path.</summary>
    public IAdaptableLayer At(string path) => NamedModules().Single(m => m.Path == path).Module as IAdaptableLayer
        ?? throw new ArgumentException(path);

    public float[][] BaseWeights() => StateDict().Select(kv => kv.Value.ToArray()).ToArray();

    /// <summary>Random A [r, in] and B [out, r] for a Linear at <paramref name="path"/>, under PEFT's file keys.</summary>
    public static void AddPair(List<SafetensorsEntry> entries, Rng rng, string path, int rank, int inDim = Dim, int outDim = Dim)
    {
        entries.Add(Tensor.Randn(rng, 0.5f, rank, inDim).ToEntry(AdapterKeys.A(path, LayerKind.Linear)));
        entries.Add(Tensor.Randn(rng, 0.5f, outDim, rank).ToEntry(AdapterKeys.B(path, LayerKind.Linear)));
    }

    /// <summary>Writes a PEFT adapter directory by hand: <paramref name="entries"/> and <paramref name="configJson"/> verbatim.</summary>
    public static void Write(string dir, string configJson, List<SafetensorsEntry> entries)
    {
        Directory.CreateDirectory(dir);
        SafetensorsWriter.Save(Path.Combine(dir, AdapterKeys.WeightsFile), entries, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(dir, AdapterKeys.ConfigFile), configJson);
    }

    /// <summary>y = x·Wᵀ + b + s·(x·Aᵀ)·Bᵀ, in double, from raw arrays (the hand computation the tests compare to).</summary>
    public static double[] LinearByHand(float[] x, Tensor w, Tensor? b, float[]? a = null, float[]? bMat = null, int rank = 0, double scale = 0)
    {
        int outDim = w.Dim(0), inDim = w.Dim(1);
        var y = new double[outDim];
        for (int o = 0; o < outDim; o++)
        {
            double acc = b?.Data[o] ?? 0;
            for (int i = 0; i < inDim; i++) acc += x[i] * (double)w.Data[o * inDim + i];
            if (a is not null)
                for (int k = 0; k < rank; k++)
                {
                    double h = 0;
                    for (int i = 0; i < inDim; i++) h += x[i] * (double)a[k * inDim + i];
                    acc += scale * h * bMat![o * rank + k];
                }
            y[o] = acc;
        }
        return y;
    }

    public static void Close(double[] expected, Tensor actual, double tol = 1e-6)
    {
        Xunit.Assert.Equal(expected.Length, actual.Size);
        for (int i = 0; i < expected.Length; i++)
            Xunit.Assert.True(Math.Abs(expected[i] - actual.Data[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"index {i}: expected {expected[i]}, got {actual.Data[i]}");
    }
}
