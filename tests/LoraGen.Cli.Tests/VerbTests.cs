using LoraGen.Peft;
using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Cli.Tests;

public sealed class VerbTests : IDisposable
{
    private readonly Fixtures _f = new();
    public void Dispose() => _f.Dispose();

    private const string L = "model.layers.0.self_attn.";

    private void WriteBase()
    {
        SafetensorsWriter.Save(_f.P("model.safetensors"), [
            SafetensorsEntry.FromFloats(L + "q_proj.weight", [6, 5], Fixtures.Rand(30, 1)),
            SafetensorsEntry.FromFloats(L + "k_proj.weight", [6, 5], Fixtures.Rand(30, 2)),
            SafetensorsEntry.FromFloats(L + "v_proj.weight", [6, 5], Fixtures.Rand(30, 3)),
        ]);
    }

    private static SafetensorsEntry[] Layer(string module, int r, int inF, int outF, int seed) =>
    [
        SafetensorsEntry.FromFloats($"base_model.model.{L}{module}.lora_A.weight", [r, inF], Fixtures.Rand(r * inF, seed)),
        SafetensorsEntry.FromFloats($"base_model.model.{L}{module}.lora_B.weight", [outF, r], Fixtures.Rand(outF * r, seed + 100)),
    ];

    [Fact]
    public void Validate_passes_a_fitting_adapter()
    {
        WriteBase();
        Fixtures.WriteAdapter(_f.P("ok"), Fixtures.PeftConfig(2, 4, "[\"q_proj\", \"v_proj\"]"), [.. Layer("q_proj", 2, 5, 6, 1), .. Layer("v_proj", 2, 5, 6, 2)]);
        var (code, output, err) = Cli.Run("validate", _f.P("ok"), "--base", _f.P("model.safetensors"));
        Assert.True(code == 0, output + err);
        Assert.Contains("ok", output);
    }

    [Fact]
    public void Validate_reports_missing_unexpected_and_mismatched_by_name()
    {
        WriteBase();
        // Targets k_proj (missing), has o_proj (unexpected: not in base) and a v_proj of the wrong width (mismatched).
        Fixtures.WriteAdapter(_f.P("bad"), Fixtures.PeftConfig(2, 4, "[\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\"]"),
            [.. Layer("q_proj", 2, 5, 6, 1), .. Layer("v_proj", 2, 7, 6, 2), .. Layer("o_proj", 2, 5, 6, 3)]);
        var (code, output, _) = Cli.Run("validate", _f.P("bad"), "--base", _f.P("model.safetensors"));
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("missing", output);
        Assert.Contains(L + "k_proj", output);
        Assert.Contains("unexpected", output);
        Assert.Contains(L + "o_proj", output);
        Assert.Contains("mismatched", output);
        Assert.Contains(L + "v_proj", output);
        Assert.Contains("1 missing, 1 unexpected, 1 mismatched", output);
    }

    [Fact]
    public void Bad_inputs_name_the_file_and_field_with_exit_codes()
    {
        WriteBase();
        var (c1, _, e1) = Cli.Run("validate", _f.P("nope"), "--base", _f.P("model.safetensors"));
        Assert.Equal(ExitCodes.BadInput, c1);
        Assert.Contains(_f.P("nope"), e1);

        Fixtures.WriteAdapter(_f.P("badcfg"), Fixtures.PeftConfig(2, 4, "[\"q_proj\"]").Replace("\"r\": 2", "\"r\": \"2\""), Layer("q_proj", 2, 5, 6, 1));
        var (c2, _, e2) = Cli.Run("merge", _f.P("badcfg"), "--base", _f.P("model.safetensors"), "-o", _f.P("out"));
        Assert.Equal(ExitCodes.BadInput, c2);
        Assert.Contains("\"r\"", e2);

        File.WriteAllBytes(_f.P("junk.safetensors"), [1, 2, 3]);
        var (c3, _, e3) = Cli.Run("inspect", _f.P("junk.safetensors"));
        Assert.Equal(ExitCodes.BadInput, c3);
        Assert.Contains("junk.safetensors", e3);

        Assert.Equal(ExitCodes.Usage, Cli.Run("merge", "--bogus").Code);
    }

    [Fact]
    public void Combine_linear_and_cat_match_hand_computation()
    {
        var a1 = Fixtures.Rand(10, 1); var b1 = Fixtures.Rand(12, 2); var a2 = Fixtures.Rand(10, 3); var b2 = Fixtures.Rand(12, 4);
        string K(string f) => $"base_model.model.{L}q_proj.{f}.weight";
        Fixtures.WriteAdapter(_f.P("x"), Fixtures.PeftConfig(2, 4, "[\"q_proj\"]"), [SafetensorsEntry.FromFloats(K("lora_A"), [2, 5], a1), SafetensorsEntry.FromFloats(K("lora_B"), [6, 2], b1)]);
        Fixtures.WriteAdapter(_f.P("y"), Fixtures.PeftConfig(2, 8, "[\"q_proj\", \"v_proj\"]"), [SafetensorsEntry.FromFloats(K("lora_A"), [2, 5], a2), SafetensorsEntry.FromFloats(K("lora_B"), [6, 2], b2)]);
        double s1 = 2, s2 = 4, w1 = 0.7, w2 = 0.3;

        Assert.Equal(0, Cli.Run("combine", _f.P("x"), _f.P("y"), "--weights", "0.7,0.3", "--method", "linear", "-o", _f.P("lin")).Code);
        using (var lin = AdapterDirectory.Open(_f.P("lin")))
        {
            Assert.Equal(2, lin.Config.R);
            Assert.Equal(2, lin.Config.LoraAlpha);
            Assert.Equal(["q_proj", "v_proj"], lin.Config.TargetModules!.Items);
            var a = lin.Weights.ReadFloats(K("lora_A"));
            var b = lin.Weights.ReadFloats(K("lora_B"));
            for (int i = 0; i < 10; i++) Assert.Equal(Math.Sqrt(w1 * s1) * a1[i] + Math.Sqrt(w2 * s2) * a2[i], a[i], 1e-6);
            for (int i = 0; i < 12; i++) Assert.Equal(Math.Sqrt(w1 * s1) * b1[i] + Math.Sqrt(w2 * s2) * b2[i], b[i], 1e-6);
        }

        Assert.Equal(0, Cli.Run("combine", _f.P("x"), _f.P("y"), "--weights", "0.7,0.3", "--method", "cat", "-o", _f.P("cat")).Code);
        using (var cat = AdapterDirectory.Open(_f.P("cat")))
        {
            Assert.Equal(4, cat.Config.R);
            var a = cat.Weights.ReadFloats(K("lora_A"));
            var b = cat.Weights.ReadFloats(K("lora_B"));
            // Scaling of the result is 1, so B·A must equal Σ wᵢ·sᵢ·Bᵢ·Aᵢ.
            for (int o = 0; o < 6; o++)
                for (int i = 0; i < 5; i++)
                {
                    double expect = 0, got = 0;
                    for (int k = 0; k < 2; k++) expect += w1 * s1 * b1[o * 2 + k] * a1[k * 5 + i] + w2 * s2 * b2[o * 2 + k] * a2[k * 5 + i];
                    for (int k = 0; k < 4; k++) got += b[o * 4 + k] * a[k * 5 + i];
                    Assert.Equal(expect, got, 1e-5);
                }
        }
        // svd: the best rank-2 approximation of Σ wᵢ·sᵢ·Bᵢ·Aᵢ (rank 4), so no rank-2 product — linear's included — is closer.
        Assert.Equal(0, Cli.Run("combine", _f.P("x"), _f.P("y"), "--weights", "0.7,0.3", "--method", "svd", "-o", _f.P("svd")).Code);
        double Error(string dir, int r)
        {
            using var f = AdapterDirectory.Open(_f.P(dir));
            Assert.Equal(r, f.Config.R);
            var a = f.Weights.ReadFloats(K("lora_A"));
            var b = f.Weights.ReadFloats(K("lora_B"));
            double e = 0;
            for (int o = 0; o < 6; o++)
                for (int i = 0; i < 5; i++)
                {
                    double expect = 0, got = 0;
                    for (int k = 0; k < 2; k++) expect += w1 * s1 * b1[o * 2 + k] * a1[k * 5 + i] + w2 * s2 * b2[o * 2 + k] * a2[k * 5 + i];
                    for (int k = 0; k < r; k++) got += b[o * r + k] * a[k * 5 + i];
                    e += (expect - got) * (expect - got);
                }
            return Math.Sqrt(e);
        }
        Assert.True(Error("svd", 2) <= Error("lin", 2) + 1e-6, $"svd {Error("svd", 2)} vs linear {Error("lin", 2)}");
    }

    [Fact]
    public void Diff_of_a_file_with_itself_is_zero_and_a_change_is_found()
    {
        WriteBase();
        var (code, output, _) = Cli.Run("diff", _f.P("model.safetensors"), _f.P("model.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("identical", output);
        Assert.Contains("max abs 0", output);
        SafetensorsWriter.Save(_f.P("other.safetensors"), [
            SafetensorsEntry.FromFloats(L + "q_proj.weight", [6, 5], Fixtures.Rand(30, 1).Select(v => v + 0.5f).ToArray()),
            SafetensorsEntry.FromFloats(L + "k_proj.weight", [6, 5], Fixtures.Rand(30, 2)),
            SafetensorsEntry.FromFloats(L + "o_proj.weight", [6, 5], Fixtures.Rand(30, 3)),
        ]);
        var (c2, o2, _) = Cli.Run("diff", _f.P("model.safetensors"), _f.P("other.safetensors"));
        Assert.Equal(ExitCodes.CheckFailed, c2);
        Assert.Contains("different", o2);
        Assert.Contains(L + "q_proj.weight", o2);
        Assert.Contains("only in", o2);
        Assert.Contains(L + "v_proj.weight", o2);
        Assert.Contains(L + "o_proj.weight", o2);
    }

    [Fact]
    public void Convert_round_trips()
    {
        WriteBase();
        Assert.Equal(0, Cli.Run("convert", _f.P("model.safetensors"), "--dtype", "bf16", "-o", _f.P("bf16.safetensors")).Code);
        using (var h = SafetensorsFile.Open(_f.P("bf16.safetensors"))) Assert.All(h.Tensors, t => Assert.Equal(SafetensorsDType.BF16, t.DType));
        Assert.Equal(0, Cli.Run("convert", _f.P("bf16.safetensors"), "--dtype", "f32", "-o", _f.P("back.safetensors")).Code);
        var (code, output, _) = Cli.Run("diff", _f.P("model.safetensors"), _f.P("back.safetensors"), "--rtol", "0.004");
        Assert.True(code == 0, output);
        Assert.Contains("close", output);
        // f32 → f32 is the same bytes as the reference writer's.
        Assert.Equal(0, Cli.Run("convert", _f.P("model.safetensors"), "--dtype", "f32", "-o", _f.P("same.safetensors")).Code);
        using var a = SafetensorsFile.Open(_f.P("model.safetensors"));
        using var b = SafetensorsFile.Open(_f.P("same.safetensors"));
        Assert.All(a.Tensors, t => Assert.Equal(a.ReadFloats(t.Name), b.ReadFloats(t.Name)));
        Assert.Equal(ExitCodes.Usage, Cli.Run("convert", _f.P("model.safetensors"), "--dtype", "f8", "-o", _f.P("x.safetensors")).Code);
    }

    [Fact]
    public void Convert_adapter_directory_still_loads()
    {
        Fixtures.WriteAdapter(_f.P("ad"), Fixtures.PeftConfig(2, 4, "[\"q_proj\"]"), Layer("q_proj", 2, 5, 6, 1));
        Assert.Equal(0, Cli.Run("convert", _f.P("ad"), "--dtype", "f16", "-o", _f.P("ad16")).Code);
        using var ad = AdapterDirectory.Open(_f.P("ad16"));
        Assert.All(ad.Weights.Tensors, t => Assert.Equal(SafetensorsDType.F16, t.DType));
        Assert.Equal(File.ReadAllText(_f.P("ad", "adapter_config.json")), File.ReadAllText(_f.P("ad16", "adapter_config.json")));
    }

    [Fact]
    public void Plot_writes_png_and_svg_and_names_a_bad_line()
    {
        File.WriteAllLines(_f.P("log.jsonl"), Enumerable.Range(1, 50).Select(i => $"{{\"step\": {i}, \"loss\": {3.0 / Math.Sqrt(i):R}, \"lr\": 0.0002, \"tokens_per_second\": 1234}}"));
        Assert.Equal(0, Cli.Run("plot", _f.P("log.jsonl"), "-o", _f.P("loss.png")).Code);
        var png = File.ReadAllBytes(_f.P("loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(0, Cli.Run("plot", _f.P("log.jsonl"), "-o", _f.P("loss.svg")).Code);
        var svg = File.ReadAllText(_f.P("loss.svg"));
        Assert.Contains("<svg", svg);
        System.Xml.Linq.XDocument.Parse(svg);
        File.WriteAllLines(_f.P("bad.jsonl"), ["{\"step\": 1, \"loss\": 2}", "{\"step\": 2}"]);
        var (code, _, err) = Cli.Run("plot", _f.P("bad.jsonl"), "-o", _f.P("bad.png"));
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("bad.jsonl:2", err);
        Assert.Contains("\"loss\"", err);
    }
}
