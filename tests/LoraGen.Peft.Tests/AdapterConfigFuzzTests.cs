using System.Diagnostics;
using System.Text;
using LoraGen.Peft;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// adapter_config.json gets the safetensors reader's treatment (issue 16 item 9): a seeded, bounded fuzz of
/// <see cref="AdapterConfig.Parse(ReadOnlySpan{byte}, string?)"/> over mutations of real configs. Every input either
/// parses or throws <see cref="AdapterConfigException"/>; none hangs, and none allocates more than a small multiple
/// of its size. <c>LORAGEN_FUZZ_CASES</c> raises the count (100,000 for the benchmark run).
/// </summary>
public class AdapterConfigFuzzTests
{
    private static readonly string[] Seeds =
    [
        """{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "v_proj"], "bias": "none"}""",
        """{"peft_type": "LORA", "r": 4, "target_modules": "q_proj|v_proj", "use_rslora": true, "init_lora_weights": "gaussian"}""",
        """{"peft_type": "LORA", "r": 16, "lora_alpha": 32, "rank_pattern": {"fc2": 4}, "alpha_pattern": {"fc2": 8.5}, "layers_to_transform": [0, 1], "modules_to_save": null, "task_type": "CAUSAL_LM", "base_model_name_or_path": "gpt2", "inference_mode": true}""",
        """{"peft_type": "LORA", "r": 2, "lora_alpha": 1e1, "exclude_modules": null, "fan_in_fan_out": false, "use_dora": false, "revision": null, "unknown_future_field": {"a": [1, 2, {"b": null}]}}""",
    ];

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", ",", ":", "\"", "null", "true", "false", "-1", "0", "1e309", "NaN", "Infinity", "-0.0", "1.5",
        "\"r\"", "\"lora_alpha\"", "\"peft_type\"", "\"LORA\"", "\"target_modules\"", "\"rank_pattern\"", "\\u0000", "\\ud800",
        "99999999999999999999", "\"\"", "[[[[[[[[", "]]]]]]]]", "{\"a\":", "\u00e9", "\uffff",
    ];

    [Fact]
    public void MutatedConfigsParseOrThrowTypedErrorsOnly()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("LORAGEN_FUZZ_CASES"), out var n) && n > 0 ? n : 10_000;
        var rng = new Random(20240916);
        var failures = new List<string>();
        var total = Stopwatch.StartNew();
        int parsed = 0, rejected = 0;
        for (int i = 0; i < cases && failures.Count < 5; i++)
        {
            var input = Mutate(Seeds[rng.Next(Seeds.Length)], rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            try
            {
                AdapterConfig.Parse(input, "fuzz");
                parsed++;
            }
            catch (AdapterConfigException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                rejected++;
            }
            catch (Exception e)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  input: {Encoding.UTF8.GetString(input)}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(watch.ElapsedMilliseconds < 2_000, $"case {i} took {watch.ElapsedMilliseconds} ms: {Encoding.UTF8.GetString(input)}");
            Assert.True(allocated <= 64 * 1024 + 200L * input.Length, $"case {i} allocated {allocated:N0} bytes for {input.Length} input bytes");
        }
        Assert.True(failures.Count == 0, "untyped errors:\n" + string.Join("\n", failures));
        Assert.True(parsed > 0 && rejected > 0, $"the fuzz should reach both outcomes (parsed {parsed}, rejected {rejected})");
        Assert.True(total.Elapsed < TimeSpan.FromMinutes(2), $"{cases} cases took {total.Elapsed}");
    }

    /// <summary>
    /// A property name with invalid UTF-8 or an escaped lone surrogate is a typed error naming the file (System.Text.Json
    /// reports it lazily as an InvalidOperationException, which the fuzz found escaping Parse).
    /// </summary>
    [Theory]
    [InlineData("{\"tar\\ud800get\":[\"q\"],\"r\":8}")]
    [InlineData("{\"r\":8,\"\\udc00\":1}")]
    [InlineData("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\\ud800\"]}")]
    public void LoneSurrogateIsATypedErrorNamingTheFile(string json)
    {
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(json, "cfg.json"));
        Assert.Equal("cfg.json", ex.Path);
        Assert.StartsWith("cfg.json: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InAPropertyNameIsATypedErrorNamingTheFile()
    {
        byte[] json = [.. "{\"ta"u8, 0xC3, 0x28, .. "rget\":1,\"r\":8}"u8];
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterConfig.Parse(json, "cfg.json"));
        Assert.Equal("cfg.json", ex.Path);
    }

    /// <summary>1–4 edits: byte flips, deletions, duplications, token insertions, truncation.</summary>
    private static byte[] Mutate(string seed, Random rng)
    {
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(seed));
        int edits = rng.Next(1, 5);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = rng.Next(bytes.Count);
            switch (rng.Next(6))
            {
                case 0: bytes[at] = (byte)rng.Next(256); break;
                case 1: bytes.RemoveRange(at, Math.Min(rng.Next(1, 8), bytes.Count - at)); break;
                case 2: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(rng.Next(1, 16), bytes.Count - at))); break;
                case 3: bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[rng.Next(Tokens.Length)])); break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break;
                default: bytes[at] = (byte)"{}[]:,\"0123456789-.e"[rng.Next(20)]; break;
            }
        }
        return [.. bytes];
    }
}
