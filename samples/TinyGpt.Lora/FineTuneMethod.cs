using LoraGen;
using LoraGen.Lora;
using LoraGen.Nn;

namespace TinyGpt.Lora;

/// <summary>
/// A fine-tuning method of the sample (<c>--method NAME</c>): the run-time override that <c>model.Lora.Attach</c>
/// gets on top of the attributes' <c>[Lora(Rank = 8, Alpha = 16)]</c>, and the format the frozen base weights are
/// multiplied in. Everything else (data, steps, learning rate, checks) is the same for every method, so their
/// numbers compare. A new method is one more entry in <see cref="All"/>.
/// </summary>
/// <param name="Name">The name on the command line.</param>
/// <param name="Description">One line for the output.</param>
/// <param name="Override">What Attach changes (an empty override: the attributes as written).</param>
/// <param name="BaseFormat">The frozen base weights' format after Attach (<see cref="BaseFormat.NF4"/>: QLoRA).</param>
/// <param name="LrFactor">The fine-tune's learning rate relative to LoRA's (VeRA's few scaling vectors want a larger one, as in the paper).</param>
public sealed record FineTuneMethod(string Name, string Description, LoraOverride Override, BaseFormat BaseFormat = BaseFormat.Fp32, float LrFactor = 1f)
{
    /// <summary>The methods, the default (<c>lora</c>) first.</summary>
    public static IReadOnlyList<FineTuneMethod> All { get; } =
    [
        new("lora", "plain LoRA, as the attributes declare it", new LoraOverride()),
        new("dora", "DoRA: LoRA for the direction plus a trained magnitude per output feature (PEFT's DoRA)", new LoraOverride { UseDora = true }),
        new("pissa", "PiSSA: A, B from the top-r singular vectors of W, W replaced by the residual", new LoraOverride { Init = LoraInit.Pissa }),
        new("olora", "OLoRA: A, B from a QR of W, W replaced by the residual", new LoraOverride { Init = LoraInit.Olora }),
        new("qlora", "QLoRA: the frozen base Linear weights in 4-bit NormalFloat (NF4), A and B in fp32", new LoraOverride(), BaseFormat.NF4),
        new("lora-fa", "LoRA-FA: A frozen at its initialisation, only B trains", new LoraOverride { FreezeA = true }),
        // VeRA wants a larger rank than LoRA (PEFT's default r is 256): A and B are frozen random matrices shared by
        // every layer, so r costs no trainable numbers beyond λ_d [r]; only λ_d [r] and λ_b [out] train per layer.
        new("vera", "VeRA: one pair of frozen random matrices (r 256) shared by all layers, only the vectors λ_d [r] and λ_b [out] train",
            new LoraOverride { Variant = LoraVariant.Vera, R = 256 }, LrFactor: 10f),
        new("nola", "NoLA: A and B as sums of 64 + 64 frozen random bases (r 8), only the 128 coefficients per layer train",
            new LoraOverride { Variant = LoraVariant.Nola, NumBasisA = 64, NumBasisB = 64 }),
        new("lora-int8", "plain LoRA on an int8 frozen base: Linear weights int8 per output channel, activations int8 per token on the CPU's int8 dot products, A and B in fp32",
            new LoraOverride(), BaseFormat.Int8),
    ];

    /// <summary>The default method.</summary>
    public static FineTuneMethod Default => All[0];

    /// <summary>The names, for the usage line.</summary>
    public static string Names => string.Join("|", All.Select(m => m.Name));

    /// <summary>The method called <paramref name="name"/>, or null.</summary>
    public static FineTuneMethod? Find(string name) => All.FirstOrDefault(m => m.Name == name);

    /// <summary>
    /// Whether the base format quantizes the activations too (int8): then a merged fp32 model does not compute bit-like
    /// the unmerged one, only within the quantization error.
    /// </summary>
    public bool QuantizesActivations => BaseFormat == BaseFormat.Int8;

    /// <summary>Whether Attach rewrites the base weights to a residual (PiSSA, OLoRA): the file is converted to plain LoRA on save.</summary>
    public bool RewritesBase => Override.Init is LoraInit.Pissa or LoraInit.Olora;
}
