using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary>
/// The proof issue 15 asks for: <c>loragen merge</c> of a PEFT-layout adapter gives, weight for weight, what the
/// managed runtime's <see cref="LoraLayer.Merge"/> gives for the same base, A, B and scaling (≤ 1e-6).
/// </summary>
public sealed class MergeMatchesRuntimeTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private const string Q = "model.layers.0.self_attn.q_proj", E = "model.embed_tokens";

    [Fact]
    public void Merge_equals_the_runtime_LoraLayer_merge()
    {
        const int r = 2, alpha = 16;
        var wq = Fixtures.Rand(6 * 5, 11); var we = Fixtures.Rand(10 * 4, 12);
        var aq = Fixtures.Rand(r * 5, 13); var bq = Fixtures.Rand(6 * r, 14);
        var ae = Fixtures.Rand(r * 10, 15); var be = Fixtures.Rand(4 * r, 16);
        SafetensorsWriter.Save(_f.P("model.safetensors"), [
            SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], wq),
            SafetensorsEntry.FromFloats(E + ".weight", [10, 4], we),
        ]);
        Fixtures.WriteAdapter(_f.P("adapter"), Fixtures.PeftConfig(r, alpha, "[\"q_proj\", \"embed_tokens\"]"), [
            SafetensorsEntry.FromFloats(AdapterKeys.A(Q, LayerKind.Linear), [r, 5], aq),
            SafetensorsEntry.FromFloats(AdapterKeys.B(Q, LayerKind.Linear), [6, r], bq),
            SafetensorsEntry.FromFloats(AdapterKeys.A(E, LayerKind.Embedding), [r, 10], ae),
            SafetensorsEntry.FromFloats(AdapterKeys.B(E, LayerKind.Embedding), [4, r], be),
        ]);
        var (code, _, err) = Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.True(code == 0, err);
        using var merged = SafetensorsFile.Open(_f.P("out", "model.safetensors"));

        foreach (var (path, kind, w, shape, a, b, aShape, bShape) in new[]
        {
            (Q, LayerKind.Linear, wq, new[] { 6, 5 }, aq, bq, new[] { r, 5 }, new[] { 6, r }),
            (E, LayerKind.Embedding, we, new[] { 10, 4 }, ae, be, new[] { r, 10 }, new[] { 4, r }),
        })
        {
            var layer = new LoraLayer(kind, Tensor.FromArray((float[])w.Clone(), shape), path);
            layer.Add("default", new LoraConfig(r, alpha), Tensor.FromArray(a, aShape), Tensor.FromArray(b, bShape));
            layer.Merge();
            var expected = layer.Weight.ToArray();
            var actual = merged.ReadFloats(path + ".weight");
            Assert.Equal(expected.Length, actual.Length);
            Assert.NotEqual(w, actual);   // the merge changed something
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"{path}[{i}]: runtime {expected[i]} vs loragen {actual[i]}");
        }
    }
}
