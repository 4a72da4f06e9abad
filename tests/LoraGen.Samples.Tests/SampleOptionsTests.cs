using TinyGpt.Lora;
using Xunit;

namespace LoraGen.Samples.Tests;

/// <summary>The sample's command line and word-level tokenizer, in-process.</summary>
public sealed class SampleOptionsTests
{
    [Fact]
    public void DefaultsAndOverrides()
    {
        var full = SampleOptions.Parse([]);
        Assert.False(full.Quick);
        Assert.Equal("out", full.OutDir);
        var quick = SampleOptions.Parse(["--quick", "--out", "o", "--lora-steps", "7"]);
        Assert.Equal(new SampleOptions(true, "o", SampleOptions.Parse(["--quick"]).PretrainSteps, 7), quick);
        Assert.Equal(12, SampleOptions.Parse(["--pretrain-steps", "12"]).PretrainSteps);
        Assert.Equal("lora", full.Method.Name);
        Assert.Null(full.LoraPlusRatio);
        Assert.Null(full.BasePath);
    }

    [Fact]
    public void MethodRatioAndBase()
    {
        var o = SampleOptions.Parse(["--method", "dora", "--loraplus-ratio", "16", "--base", "b.safetensors"]);
        Assert.Equal("dora", o.Method.Name);
        Assert.True(o.Method.Override.UseDora);
        Assert.Equal(16f, o.LoraPlusRatio);
        Assert.Equal("b.safetensors", o.BasePath);
        Assert.Equal(LoraGen.Nn.BaseFormat.NF4, SampleOptions.Parse(["--method", "qlora"]).Method.BaseFormat);
        Assert.Equal(LoraGen.Nn.BaseFormat.Int8, SampleOptions.Parse(["--method", "lora-int8"]).Method.BaseFormat);
        Assert.True(SampleOptions.Parse(["--method", "lora-int8"]).Method.QuantizesActivations);
        Assert.True(SampleOptions.Parse(["--method", "lora-fa"]).Method.Override.FreezeA);
        Assert.True(SampleOptions.Parse(["--method", "pissa"]).Method.RewritesBase);
        // Every method is named in the usage line, so the help and the switch cannot drift apart.
        foreach (var m in FineTuneMethod.All) Assert.Contains(m.Name, SampleOptions.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--qick", "unknown option '--qick'")]
    [InlineData("--out", "--out needs a value")]
    [InlineData("--lora-steps x", "--lora-steps needs a positive whole number, not 'x'")]
    [InlineData("--pretrain-steps 0", "--pretrain-steps needs a positive whole number, not '0'")]
    [InlineData("--method adalora", "--method must be one of lora|dora|pissa|olora|qlora|lora-fa")]
    [InlineData("--loraplus-ratio -2", "--loraplus-ratio needs a positive number, not '-2'")]
    [InlineData("--loraplus-ratio NaN", "--loraplus-ratio needs a positive number, not 'NaN'")]
    public void ABadArgumentIsNamedWithTheUsage(string args, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => SampleOptions.Parse(args.Split(' ')));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Contains(SampleOptions.Usage, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheWordTokenizerRoundTripsTheCorpora()
    {
        string a = Corpus.Prose(50, seed: 1), b = Corpus.Verse4(20, seed: 2);
        var tokenizer = WordTokenizer.FromTexts(a, b);
        // Spaces are implied: decoding gives the text back with single spaces and none around line breaks.
        Assert.Equal(b.TrimEnd(), tokenizer.Decode(tokenizer.Encode(b)).TrimEnd());
        Assert.Equal(a.Replace(" \n", "\n").TrimEnd(), tokenizer.Decode(tokenizer.Encode(a)).TrimEnd());
        Assert.Equal(["Lo", "Moon", "thou", "silver", "lamp"], WordTokenizer.Words("Lo, Moon,\nthou silver lamp."));
        var e = Assert.Throws<ArgumentException>(() => tokenizer.Encode("the zebra"));
        Assert.Contains("'zebra'", e.Message, StringComparison.Ordinal);
    }
}
