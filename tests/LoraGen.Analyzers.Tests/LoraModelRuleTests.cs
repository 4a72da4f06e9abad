using LoraGen.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis.Testing;
using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// The rules of <see cref="LoraModelAnalyzer"/> (LORA0011–0013, 0018–0020, and the value rules on <c>[LoraModel]</c>
/// settings): positive cases (ID, span, exact message) and negative cases.
/// </summary>
public class LoraModelRuleTests
{
    private static Task VerifyAsync(string code, params DiagnosticResult[] expected) => AnalyzerAsync<LoraModelAnalyzer>(code, expected);

    private const string Tree = """
        public sealed partial class Attention : Module
        {
            readonly Linear q_proj = new(64, 64);
            readonly Linear v_proj = new(64, 64);
        }
        public sealed partial class Block : Module { readonly Attention attn = new(); }

        """;

    [Fact]
    public Task ValidRootReportsNothing() => VerifyAsync(Tree + """
        [LoraModel(Rank = 8, Alpha = 16, Dropout = 0.1, Targets = new[] { "q_proj", "v_proj" }, RankPattern = new[] { "q_proj=16" }, AlphaPattern = new[] { "v_proj=32" })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """);

    // LORA0011

    [Fact]
    public Task Lora0011TargetMatchesNothing() => VerifyAsync(Tree + """
        [LoraModel(Targets = new[] { "q_proj", {|#0:"qkv"|} })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """, Diagnostic("LORA0011", 0, "Target 'qkv' matches no Linear or Embedding in the module tree of 'Net'; candidates: q_proj, v_proj"));

    [Fact]
    public Task Lora0011PatternNameMatchesNothing() => VerifyAsync(Tree + """
        [LoraModel(Targets = new[] { "q_proj" }, RankPattern = new[] { {|#0:"k_proj=16"|} })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """, Diagnostic("LORA0011", 0, "Target 'k_proj' matches no Linear or Embedding in the module tree of 'Net'; candidates: q_proj, v_proj"));

    [Fact]
    public Task Lora0011EmptyTreeSaysSo() => VerifyAsync("""
        [LoraModel(Targets = new[] { {|#0:"fc"|} })]
        public sealed partial class Net : Module { readonly LayerNorm ln = new(8); }
        """, Diagnostic("LORA0011", 0, "Target 'fc' matches no Linear or Embedding in the module tree of 'Net'; candidates: (no Linear or Embedding in the tree)"));

    [Fact]
    public Task Lora0011DottedSuffixTargetsMatch() => VerifyAsync(Tree + """
        [LoraModel(Targets = new[] { "attn.q_proj", "v_proj", "h.{0}.attn.v_proj" }, RankPattern = new[] { "q_proj=16" })]
        public sealed partial class Net : Module { readonly List<Block> h = new(); }
        """);

    // LORA0012

    [Fact]
    public Task Lora0012ConfiguredTwice() => VerifyAsync("""
        public sealed partial class Attention : Module { [{|#0:Lora(Rank = 16)|}] readonly Linear {|#1:q_proj|} = new(64, 64); }
        [LoraModel(Rank = 8, Targets = new[] { "q_proj" })]
        public sealed partial class Net : Module { readonly Attention attn = new(); }
        """, Diagnostic("LORA0012").WithLocation(0).WithLocation(1)
            .WithMessage("'attn.q_proj' is selected by [LoraModel(Targets)] as 'q_proj' and also has [Lora] with different settings; the [Lora] settings win"));

    [Fact]
    public Task Lora0012SameSettingsAreFine() => VerifyAsync("""
        public sealed partial class Attention : Module { [Lora(Rank = 8)] readonly Linear q_proj = new(64, 64); }
        [LoraModel(Rank = 8, Targets = new[] { "q_proj" })]
        public sealed partial class Net : Module { readonly Attention attn = new(); }
        """);

    // LORA0013

    [Fact]
    public Task Lora0013KeyCollision() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4, Name = "proj")] readonly Linear first = new(64, 64);
            [ModuleName("proj")] readonly Linear {|#0:second|} = new(64, 64);
        }
        """, Diagnostic("LORA0013", 0, "'first' and 'second' of 'A' both map to the path segment 'proj': their state-dict and adapter keys would collide"));

    [Fact]
    public Task Lora0013RenameOntoAnotherFieldName() => VerifyAsync("""
        public sealed partial class A : Module
        {
            readonly Linear fc = new(64, 64);
            [ModuleName("fc")] readonly Linear {|LORA0013:other|} = new(64, 64);
        }
        """);

    [Fact]
    public Task Lora0013DistinctSegmentsAreFine() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4, Name = "q_proj")] readonly Linear _q = new(64, 64);
            [ModuleName("k_proj")] readonly Linear _k = new(64, 64);
        }
        """);

    // LORA0018

    [Fact]
    public Task Lora0018BadRankPattern() => VerifyAsync("""
        [LoraModel(Targets = new[] { "fc" }, RankPattern = new[] { {|#0:"fc:16"|} })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """, Diagnostic("LORA0018", 0, "'fc:16' in RankPattern is not of the form \"name=value\" with a positive integer rank"));

    [Fact]
    public Task Lora0018FractionalRank() => VerifyAsync("""
        [LoraModel(Targets = new[] { "fc" }, RankPattern = new[] { {|LORA0018:"fc=2.5"|}, {|LORA0018:"fc=0"|} })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """);

    [Fact]
    public Task Lora0018AlphaPatternNotPositive() => VerifyAsync("""
        [LoraModel(Targets = new[] { "fc" }, AlphaPattern = new[] { {|#0:"fc=0"|} })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """, Diagnostic("LORA0018", 0, "'fc=0' in AlphaPattern is not of the form \"name=value\" with a positive alpha"));

    [Fact]
    public Task Lora0018WellFormedPatternsAreFine() => VerifyAsync("""
        [LoraModel(Targets = new[] { "fc" }, RankPattern = new[] { "fc=4", " fc = 16 " }, AlphaPattern = new[] { "fc=0.5" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """);

    // LORA0019

    [Fact]
    public Task Lora0019ContainingTypeNotPartial() => VerifyAsync("""
        public static class Holder { public sealed partial class {|#0:Inner|} : Module { } }
        """, Diagnostic("LORA0019", 0, "'Inner' is nested in 'Holder', which is not partial: LoraGen cannot generate its module tree, so it will have no children"));

    [Fact]
    public Task Lora0019PartialContainersAreFine() => VerifyAsync("""
        public static partial class Holder { public sealed partial class Inner : Module { } }
        """);

    // LORA0020

    [Fact]
    public Task Lora0020RootNotAModule() => VerifyAsync("""
        [{|#0:LoraModel|}] public sealed partial class Net { }
        """, Diagnostic("LORA0020", 0, "'Net' does not derive from LoraGen.Nn.Module: the Lora facade cannot be generated"));

    [Fact]
    public Task Lora0020RootNotPartial() => VerifyAsync("""
        [{|#0:LoraModel(Targets = new[] { "fc" })|}] public sealed class Net : Module { readonly Linear fc = new(64, 64); }
        """, Diagnostic("LORA0020", 0, "'Net' is not partial: the Lora facade cannot be generated"));

    [Fact]
    public Task Lora0020PartialModuleRootIsFine() => VerifyAsync("""
        [LoraModel] public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """);

    // The value rules (LORA0001–0003, 0015, 0016) apply to the model-wide settings too.

    [Fact]
    public Task ModelSettingsObeyTheValueRules() => VerifyAsync("""
        [LoraModel(Rank = {|#0:0|}, Alpha = {|#1:-1|}, Dropout = {|#2:1.5|}, Targets = new[] { "fc" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """,
        Diagnostic("LORA0001", 0, "Rank 0 of 'Net' is invalid: a LoRA rank must be at least 1"),
        Diagnostic("LORA0002", 1, "Alpha -1 of 'Net' is invalid: alpha must be greater than 0 (use Alpha = Rank for scaling 1)"),
        Diagnostic("LORA0003", 2, "Dropout 1.5 of 'Net' is invalid: it must be at least 0 and less than 1"));

    [Fact]
    public Task ModelSettingsGetTheTuningHints() => VerifyAsync("""
        [LoraModel(Rank = {|LORA0015:24|}, Alpha = {|LORA0016:768|}, Targets = new[] { "fc" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """);
}
