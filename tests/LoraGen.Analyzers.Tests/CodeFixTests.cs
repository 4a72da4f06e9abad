using LoraGen.Autograd;
using LoraGen.CodeFixes;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;
using static LoraGen.Analyzers.Tests.AnalyzerHarness;

namespace LoraGen.Analyzers.Tests;

/// <summary>Each code fix applied to a real document, compared with the expected source.</summary>
public class CodeFixTests
{
    [Fact]
    public async Task MakePartial()
    {
        var fixedSource = await ApplyFixAsync("""
            public sealed class A : Module
            {
                [Lora(Rank = 4)] readonly Linear p = new(64, 64);
            }
            """, "LORA0009", new MakePartialCodeFix());
        Assert.Equal("""
            public sealed partial class A : Module
            {
                [Lora(Rank = 4)] readonly Linear p = new(64, 64);
            }
            """, fixedSource);
        Assert.DoesNotContain(await DiagnosticsAsync(("T.cs", Usings + fixedSource)), d => d.Id == "LORA0009");
    }

    [Fact]
    public async Task ClampRankToTheLargestRankThatSaves()
    {
        var fixedSource = await ApplyFixAsync("""
            public sealed partial class A : Module { [Lora(Rank = 64, Alpha = 64)] readonly Linear p = new(48, 32); }
            """, "LORA0004", new ClampRankCodeFix());
        // r·(48 + 32) < 48·32 holds up to r = 19.
        Assert.Equal("""
            public sealed partial class A : Module { [Lora(Rank = 19, Alpha = 64)] readonly Linear p = new(48, 32); }
            """, fixedSource);
        Assert.DoesNotContain(await DiagnosticsAsync(("T.cs", Usings + fixedSource)), d => d.Id is "LORA0004" or "LORA0005");
    }

    [Fact]
    public async Task AlphaBecomesTheRank()
    {
        var fixedSource = await ApplyFixAsync("""
            public sealed partial class A : Module { [Lora(Rank = 16, Alpha = 0)] readonly Linear p = new(256, 256); }
            """, "LORA0002", new AlphaFromRankCodeFix());
        Assert.Equal("""
            public sealed partial class A : Module { [Lora(Rank = 16, Alpha = 16)] readonly Linear p = new(256, 256); }
            """, fixedSource);
    }

    [Fact]
    public async Task RemoveLoraFromAnUnsupportedTarget()
    {
        var fixedSource = await ApplyFixAsync("""
            public sealed partial class A : Module
            {
                [Lora(Rank = 4)]
                readonly LayerNorm ln = new(8);
                [Obsolete, Lora(Rank = 4)] static readonly Linear s = new(4, 4);
            }
            """, "LORA0006", new RemoveLoraAttributeCodeFix());
        Assert.Equal("""
            public sealed partial class A : Module
            {
                readonly LayerNorm ln = new(8);
                [Obsolete, Lora(Rank = 4)] static readonly Linear s = new(4, 4);
            }
            """, fixedSource);
        var second = await ApplyFixAsync(fixedSource, "LORA0007", new RemoveLoraAttributeCodeFix());
        Assert.Contains("[Obsolete] static readonly Linear s", second);
    }
}
