using LoraGen.Analyzers.Tests.Verifiers;
using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// The rules of <see cref="LoraAttributeAnalyzer"/> (LORA0001–0010, 0015, 0016): for each, positive cases (ID, span,
/// exact message) and negative cases (the analyzer reports nothing at all).
/// </summary>
public class LoraAttributeRuleTests
{
    private static Task VerifyAsync(string code, params Microsoft.CodeAnalysis.Testing.DiagnosticResult[] expected) =>
        AnalyzerAsync<LoraAttributeAnalyzer>(code, expected);

    [Fact]
    public Task ValidFieldsReportNothing() => VerifyAsync("""
        public sealed partial class Attn : Module
        {
            [Lora(Rank = 8, Alpha = 16, Dropout = 0.05)] readonly Linear q_proj = new(64, 64);
            [Lora] readonly Embedding wte = new(1000, 64);
            readonly Linear k_proj = new(64, 64);
        }
        """);

    // LORA0001

    [Fact]
    public Task Lora0001RankBelowOne() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = {|#0:0|})] readonly Linear p = new(4, 4); }
        """, Diagnostic("LORA0001", 0, "Rank 0 of 'A.p' is invalid: a LoRA rank must be at least 1"));

    [Fact]
    public Task Lora0001NegativeRankThroughAConstant() => VerifyAsync("""
        public sealed partial class A : Module { const int R = -4; [Lora(Rank = {|#0:R|})] readonly Linear p = new(64, 64); }
        """, Diagnostic("LORA0001", 0, "Rank -4 of 'A.p' is invalid: a LoRA rank must be at least 1"));

    [Fact]
    public Task Lora0001RankOneIsFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 1)] readonly Linear p = new(4, 4); }
        """);

    // LORA0002

    [Fact]
    public Task Lora0002AlphaNegative() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Alpha = {|#0:-2|})] readonly Linear p = new(64, 64); }
        """, Diagnostic("LORA0002", 0, "Alpha -2 of 'A.p' is invalid: alpha must be greater than 0 (use Alpha = Rank for scaling 1)"));

    [Fact]
    public Task Lora0002AlphaZero() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 16, Alpha = {|LORA0002:0|})] readonly Linear p = new(256, 256); }
        """);

    [Fact]
    public Task Lora0002NotWhenAlphaOmitted() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """);

    // LORA0003

    [Fact]
    public Task Lora0003DropoutOne() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Dropout = {|#0:1.0|})] readonly Linear p = new(64, 64); }
        """, Diagnostic("LORA0003", 0, "Dropout 1 of 'A.p' is invalid: it must be at least 0 and less than 1"));

    [Fact]
    public Task Lora0003DropoutNegative() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Dropout = {|#0:-0.1|})] readonly Linear p = new(64, 64); }
        """, Diagnostic("LORA0003", 0, "Dropout -0.1 of 'A.p' is invalid: it must be at least 0 and less than 1"));

    [Fact]
    public Task Lora0003ZeroAndHalfAreFine() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4, Dropout = 0)] readonly Linear p = new(64, 64);
            [Lora(Rank = 4, Dropout = 0.5)] readonly Linear q = new(64, 64);
        }
        """);

    // LORA0004

    [Fact]
    public Task Lora0004RankAboveDimensionsThroughConstants() => VerifyAsync("""
        public sealed partial class A : Module
        {
            const int Hidden = 16;
            [Lora(Rank = {|#0:32|})] readonly Linear p;
            public A() { p = new Linear(2 * Hidden, Hidden + 8); }
        }
        """, Diagnostic("LORA0004", 0, "Rank 32 of 'A.p' exceeds min(in, out) = 24 of Linear(32, 24): the adapter cannot be low-rank"));

    [Fact]
    public Task Lora0004OnAnEmbedding() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = {|#0:64|})] readonly Embedding e = new(1000, 32); }
        """, Diagnostic("LORA0004", 0, "Rank 64 of 'A.e' exceeds min(in, out) = 32 of Embedding(1000, 32): the adapter cannot be low-rank"));

    [Fact]
    public Task Lora0004UnknownDimensionsSayNothing() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 64)] readonly Linear p;
            public A(int n) { p = new Linear(n, 8); }
        }
        """);

    // LORA0005

    [Fact]
    public Task Lora0005NoSavings() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = {|#0:8|}, Alpha = 8)] readonly Linear p = new(16, 8); }
        """, Diagnostic("LORA0005", 0, "Rank 8 of 'A.p' gives 192 adapter parameters for a Linear(16, 8) layer of 128: LoRA saves nothing here"));

    [Fact]
    public Task Lora0005EmbeddingWithSavingsIsFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 8, Alpha = 8)] readonly Embedding e = new(1000, 64); }
        """);

    // LORA0006

    [Fact]
    public Task Lora0006NotAdaptable() => VerifyAsync("""
        public sealed partial class A : Module { [{|#0:Lora(Rank = 4)|}] readonly LayerNorm ln = new(8); }
        """, Diagnostic("LORA0006", 0, "'A.ln' has type LayerNorm, which LoRA cannot adapt: [Lora] applies to Linear and Embedding fields (or arrays/lists of them)"));

    [Fact]
    public Task Lora0006NotAModuleAtAll() => VerifyAsync("""
        public sealed partial class A : Module { [{|LORA0006:Lora(Rank = 4)|}] readonly int[] sizes = { 1, 2 }; }
        """);

    [Fact]
    public Task Lora0006ArraysAndListsOfLayersAreFine() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear[] experts = new Linear[0];
            [Lora(Rank = 4)] readonly List<Embedding> tables = new();
        }
        """);

    // LORA0007

    [Fact]
    public Task Lora0007Static() => VerifyAsync("""
        public sealed partial class A : Module { [{|#0:Lora(Rank = 4)|}] static readonly Linear shared = new(64, 64); }
        """, Diagnostic("LORA0007", 0, "'A.shared' is static: a static layer is not part of any model instance, so [Lora] cannot adapt it"));

    [Fact]
    public Task Lora0007InstanceFieldIsFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear own = new(64, 64); static readonly Linear shared = new(64, 64); }
        """);

    // LORA0008

    [Fact]
    public Task Lora0008Property() => VerifyAsync("""
        public sealed partial class A : Module { [{|#0:Lora(Rank = 4)|}] public Linear P { get; } = new(64, 64); }
        """, Diagnostic("LORA0008", 0, "'A.P' is a property: put [Lora] on the field that holds the layer"));

    [Fact]
    public Task Lora0008PropertyOverAnnotatedFieldIsFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); public Linear P => p; }
        """);

    // LORA0009

    [Fact]
    public Task Lora0009NotPartial() => VerifyAsync("""
        public sealed class {|#0:A|} : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """, Diagnostic("LORA0009", 0, "'A' must be declared partial so that LoraGen can generate its module tree and LoRA wiring"));

    [Fact]
    public Task Lora0009OncePerTypeWhateverTheNumberOfFields() => VerifyAsync("""
        public class {|LORA0009:A|} : Module
        {
            [Lora(Rank = 4)] readonly Linear p = new(64, 64);
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
        }
        """);

    [Fact]
    public Task Lora0009PartialOrWithoutLoraIsFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        public sealed class Plain : Module { readonly Linear p = new(64, 64); }
        """);

    // LORA0010

    [Fact]
    public Task Lora0010NotAModule() => VerifyAsync("""
        public sealed partial class A { [{|#0:Lora(Rank = 4)|}] readonly Linear p = new(64, 64); public Linear P => p; }
        """, Diagnostic("LORA0010", 0, "'A' does not derive from LoraGen.Nn.Module: [Lora] has no effect here"));

    [Fact]
    public Task Lora0010IndirectModuleSubclassIsFine() => VerifyAsync("""
        public abstract partial class Base : Module { }
        public sealed partial class A : Base { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """);

    // LORA0015

    [Fact]
    public Task Lora0015RankNotPowerOfTwo() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = {|#0:12|}, Alpha = 12)] readonly Linear p = new(512, 512); }
        """, Diagnostic("LORA0015", 0, "Rank 12 of 'A.p' is not a power of two; common choices are 4, 8, 16, 32 or 64"));

    [Fact]
    public Task Lora0015RankAbove256() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = {|#0:512|})] readonly Linear p = new(4096, 4096); }
        """, Diagnostic("LORA0015", 0, "Rank 512 of 'A.p' is above 256; common choices are 4, 8, 16, 32 or 64"));

    [Fact]
    public Task Lora0015PowersOfTwoUpTo256AreFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 256)] readonly Linear p = new(4096, 4096); [Lora(Rank = 2)] readonly Linear q = new(64, 64); }
        """);

    // LORA0016

    [Fact]
    public Task Lora0016LargeRatio() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Alpha = {|#0:128|})] readonly Linear p = new(512, 512); }
        """, Diagnostic("LORA0016", 0, "Alpha/Rank = 32 for 'A.p' is extreme: the adapter's updates are scaled by 32; ratios between 0.5 and 4 are typical"));

    [Fact]
    public Task Lora0016SmallRatio() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 64, Alpha = {|#0:1|})] readonly Linear p = new(512, 512); }
        """, Diagnostic("LORA0016", 0, "Alpha/Rank = 0.0156 for 'A.p' is extreme: the adapter's updates are scaled by 0.0156; ratios between 0.5 and 4 are typical"));

    [Fact]
    public Task Lora0016RatiosUpTo16AreFine() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Alpha = 64)] readonly Linear p = new(512, 512); [Lora(Rank = 64, Alpha = 4)] readonly Linear q = new(512, 512); }
        """);
}
