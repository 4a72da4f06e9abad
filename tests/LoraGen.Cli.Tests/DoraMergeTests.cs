using LoraGen.Lora;
using LoraGen.Peft;
using LoraGen.SafeTensors;
using LoraGen.Tensors;
using Xunit;

namespace LoraGen.Cli.Tests;

/// <summary>
/// <c>loragen merge</c> of a DoRA adapter: W' = m ⊙ (W + s·B·A) / ‖W + s·B·A‖ per output feature, checked against the
/// managed runtime's DoRA merge (Linear rows, Embedding columns) and against the formula in double (a fan_in_fan_out
/// weight, whose output features are columns); and the typed errors for a file whose magnitudes and config disagree.
/// </summary>
public sealed class DoraMergeTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private const string Q = "model.layers.0.self_attn.q_proj", E = "model.embed_tokens";
    private const int R = 2, Alpha = 16;

    private static string DoraConfig(string targets, bool fanInFanOut = false) =>
        Fixtures.PeftConfig(R, Alpha, targets, fanInFanOut).Replace("\"use_dora\": false", "\"use_dora\": true");

    [Fact]
    public void Dora_merge_equals_the_runtime_DoRA_merge()
    {
        var wq = Fixtures.Rand(6 * 5, 21); var we = Fixtures.Rand(10 * 4, 22);
        var aq = Fixtures.Rand(R * 5, 23); var bq = Fixtures.Rand(6 * R, 24);
        var ae = Fixtures.Rand(R * 10, 25); var be = Fixtures.Rand(4 * R, 26);
        var mq = Fixtures.Rand(6, 27).Select(v => 1.5f + v).ToArray();   // [out]
        var me = Fixtures.Rand(4, 28).Select(v => 2.5f + v).ToArray();   // [dim]
        SafetensorsWriter.Save(_f.P("model.safetensors"), [
            SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], wq),
            SafetensorsEntry.FromFloats(E + ".weight", [10, 4], we),
        ]);
        Fixtures.WriteAdapter(_f.P("adapter"), DoraConfig("[\"q_proj\", \"embed_tokens\"]"), [
            SafetensorsEntry.FromFloats(AdapterKeys.A(Q, LayerKind.Linear), [R, 5], aq),
            SafetensorsEntry.FromFloats(AdapterKeys.B(Q, LayerKind.Linear), [6, R], bq),
            SafetensorsEntry.FromFloats(AdapterKeys.Magnitude(Q), [6], mq),
            SafetensorsEntry.FromFloats(AdapterKeys.A(E, LayerKind.Embedding), [R, 10], ae),
            SafetensorsEntry.FromFloats(AdapterKeys.B(E, LayerKind.Embedding), [4, R], be),
            SafetensorsEntry.FromFloats(AdapterKeys.Magnitude(E), [4], me),
        ]);
        var (code, output, err) = Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.True(code == 0, err);
        Assert.Contains("DoRA", output);
        using var merged = SafetensorsFile.Open(_f.P("out", "model.safetensors"));

        foreach (var (path, kind, w, shape, a, b, mag, aShape, bShape) in new[]
        {
            (Q, LayerKind.Linear, wq, new[] { 6, 5 }, aq, bq, mq, new[] { R, 5 }, new[] { 6, R }),
            (E, LayerKind.Embedding, we, new[] { 10, 4 }, ae, be, me, new[] { R, 10 }, new[] { 4, R }),
        })
        {
            var layer = new LoraLayer(kind, Tensor.FromArray((float[])w.Clone(), shape), path);
            layer.Add("default", new LoraConfig(R, Alpha, UseDora: true), Tensor.FromArray(a, aShape), Tensor.FromArray(b, bShape), Tensor.FromArray(mag, mag.Length));
            layer.Merge();
            var expected = layer.Weight.ToArray();
            var actual = merged.ReadFloats(path + ".weight");
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"{path}[{i}]: runtime {expected[i]} vs loragen {actual[i]}");
            // Each output feature of the merged weight has norm m (DoRA's definition).
            int rows = shape[0], cols = shape[1];
            for (int f = 0; f < mag.Length; f++)
            {
                double sq = kind == LayerKind.Linear
                    ? Enumerable.Range(0, cols).Sum(c => (double)actual[f * cols + c] * actual[f * cols + c])
                    : Enumerable.Range(0, rows).Sum(rr => (double)actual[rr * cols + f] * actual[rr * cols + f]);
                Assert.Equal(mag[f], Math.Sqrt(sq), 1e-5);
            }
        }
    }

    [Fact]
    public void Dora_merge_of_a_fan_in_fan_out_weight_normalises_its_columns()
    {
        // GPT-2's Conv1D layout: the base stores W as [in, out] = [5, 6]; the output features are its columns. Blocks of
        // one row would need the whole tensor for each norm, so this also checks the two-pass path on a small case.
        var w = Fixtures.Rand(5 * 6, 31);
        var a = Fixtures.Rand(R * 5, 32); var b = Fixtures.Rand(6 * R, 33);
        var mag = Fixtures.Rand(6, 34).Select(v => 1f + v * 0.5f).ToArray();
        SafetensorsWriter.Save(_f.P("model.safetensors"), [SafetensorsEntry.FromFloats(Q + ".weight", [5, 6], w)]);
        Fixtures.WriteAdapter(_f.P("adapter"), DoraConfig("[\"q_proj\"]", fanInFanOut: true), [
            SafetensorsEntry.FromFloats(AdapterKeys.A(Q, LayerKind.Linear), [R, 5], a),
            SafetensorsEntry.FromFloats(AdapterKeys.B(Q, LayerKind.Linear), [6, R], b),
            SafetensorsEntry.FromFloats(AdapterKeys.Magnitude(Q), [6], mag),
        ]);
        var (code, _, err) = Cli.Run("merge", _f.P("adapter"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.True(code == 0, err);
        using var merged = SafetensorsFile.Open(_f.P("out", "model.safetensors"));
        var actual = merged.ReadFloats(Q + ".weight");
        const double s = (double)Alpha / R;
        for (int o = 0; o < 6; o++)
        {
            var col = new double[5];   // (W + s·B·A)[o, :] in double; W[o, i] is stored at [i, o]
            for (int i = 0; i < 5; i++)
            {
                double d = 0;
                for (int k = 0; k < R; k++) d += b[o * R + k] * (double)a[k * 5 + i];
                col[i] = w[i * 6 + o] + s * d;
            }
            double norm = Math.Sqrt(col.Sum(v => v * v));
            for (int i = 0; i < 5; i++)
                Assert.True(Math.Abs(mag[o] * col[i] / norm - actual[i * 6 + o]) <= 1e-5, $"[{i}, {o}]: {mag[o] * col[i] / norm} vs {actual[i * 6 + o]}");
        }
    }

    [Fact]
    public void Dora_config_without_a_magnitude_and_a_magnitude_without_dora_are_refused()
    {
        SafetensorsWriter.Save(_f.P("model.safetensors"), [SafetensorsEntry.FromFloats(Q + ".weight", [6, 5], Fixtures.Rand(30, 41))]);
        SafetensorsEntry[] ab = [
            SafetensorsEntry.FromFloats(AdapterKeys.A(Q, LayerKind.Linear), [R, 5], Fixtures.Rand(R * 5, 42)),
            SafetensorsEntry.FromFloats(AdapterKeys.B(Q, LayerKind.Linear), [6, R], Fixtures.Rand(6 * R, 43)),
        ];
        Fixtures.WriteAdapter(_f.P("no-magnitude"), DoraConfig("[\"q_proj\"]"), ab);
        var (code, _, err) = Cli.Run("merge", _f.P("no-magnitude"), "--base", _f.P("model.safetensors"), "-o", _f.P("out1"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains(AdapterKeys.Magnitude(Q), err);
        Assert.False(Directory.Exists(_f.P("out1")));

        Fixtures.WriteAdapter(_f.P("not-dora"), Fixtures.PeftConfig(R, Alpha, "[\"q_proj\"]"), [.. ab, SafetensorsEntry.FromFloats(AdapterKeys.Magnitude(Q), [6], Fixtures.Rand(6, 44))]);
        (code, _, err) = Cli.Run("merge", _f.P("not-dora"), "--base", _f.P("model.safetensors"), "-o", _f.P("out2"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("DoRA magnitude", err);

        Fixtures.WriteAdapter(_f.P("bad-shape"), DoraConfig("[\"q_proj\"]"), [.. ab, SafetensorsEntry.FromFloats(AdapterKeys.Magnitude(Q), [5], Fixtures.Rand(5, 45))]);
        (code, _, err) = Cli.Run("merge", _f.P("bad-shape"), "--base", _f.P("model.safetensors"), "-o", _f.P("out3"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("6 output features", err);
    }
}
