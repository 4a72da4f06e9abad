using LoraGen.SafeTensors;
using LoraGen.Tensors;

namespace LoraGen.Runtime.Tests.Variants;

/// <summary>The PyTorch-made references of the LoRA-variant tests (see Fixtures/make_variant_fixtures.py).</summary>
internal static class VariantFixtures
{
    private static readonly Lazy<SafetensorsFile> File = new(() =>
        SafetensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "variants.safetensors")));

    public static Tensor Load(string key) => File.Value.LoadTensor(key);

    public static int[] LoadInts(string key) => Load(key).ToArray().Select(v => (int)v).ToArray();

    /// <summary>max |a − e| over the elements (for the report's numbers).</summary>
    public static double MaxAbsError(Tensor expected, Tensor actual)
    {
        double worst = 0;
        for (int i = 0; i < expected.Size; i++) worst = Math.Max(worst, Math.Abs((double)expected.Data[i] - actual.Data[i]));
        return worst;
    }
}
