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
    }

    [Theory]
    [InlineData("--qick", "unknown option '--qick'")]
    [InlineData("--out", "--out needs a value")]
    [InlineData("--lora-steps x", "--lora-steps needs a positive whole number, not 'x'")]
    [InlineData("--pretrain-steps 0", "--pretrain-steps needs a positive whole number, not '0'")]
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
