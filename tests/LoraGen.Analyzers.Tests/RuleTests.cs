using LoraGen.Autograd;
using LoraGen.Ops;
using LoraGen.Tensors;
using Xunit;
using static LoraGen.Analyzers.Tests.AnalyzerHarness;

namespace LoraGen.Analyzers.Tests;

/// <summary>Each rule: a positive case (exact ID, span and message) and a negative case.</summary>
public class RuleTests
{
    private const string Ok = """
        public sealed partial class Attn : Module
        {
            [Lora(Rank = 8, Alpha = 16, Dropout = 0.05)] readonly Linear q_proj = new(64, 64);
            readonly Linear k_proj = new(64, 64);
        }
        """;

    [Fact] public Task ValidModelHasNoDiagnostic() => VerifyNoneAsync(Ok);

    [Fact]
    public Task Lora0001RankBelowOne() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = [|0|])] readonly Linear p = new(4, 4); }
        """, "LORA0001", "Rank 0 of 'A.p' is invalid: a LoRA rank must be at least 1");

    [Fact]
    public Task Lora0002AlphaNotPositive() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Alpha = [|-2|])] readonly Linear p = new(64, 64); }
        """, "LORA0002", "Alpha -2 of 'A.p' is invalid: alpha must be greater than 0 (use Alpha = Rank for scaling 1)");

    [Fact] public Task Lora0002NotWhenAlphaOmitted() => VerifyNoneAsync("public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }", "LORA0002");

    [Fact]
    public Task Lora0003Dropout() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Dropout = [|1.0|])] readonly Linear p = new(64, 64); }
        """, "LORA0003", "Dropout 1 of 'A.p' is invalid: it must be at least 0 and less than 1");

    [Fact] public Task Lora0003ZeroIsFine() => VerifyNoneAsync("public sealed partial class A : Module { [Lora(Rank = 4, Dropout = 0)] readonly Linear p = new(64, 64); }", "LORA0003");

    [Fact]
    public Task Lora0004RankAboveDimensionsThroughConstants() => VerifyAsync("""
        public sealed partial class A : Module
        {
            const int Hidden = 16;
            [Lora(Rank = [|32|])] readonly Linear p;
            public A() { p = new Linear(2 * Hidden, Hidden + 8); }
        }
        """, "LORA0004", "Rank 32 of 'A.p' exceeds min(in, out) = 24 of Linear(32, 24): the adapter cannot be low-rank");

    [Fact]
    public Task Lora0004UnknownDimensionsSayNothing() => VerifyNoneAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 64)] readonly Linear p;
            public A(int n) { p = new Linear(n, 8); }
        }
        """, "LORA0004");

    [Fact]
    public Task Lora0005NoSavings() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = [|8|], Alpha = 8)] readonly Linear p = new(16, 8); }
        """, "LORA0005", "Rank 8 of 'A.p' gives 192 adapter parameters for a Linear(16, 8) layer of 128: LoRA saves nothing here");

    [Fact]
    public Task Lora0005EmbeddingWithSavingsIsFine() => VerifyNoneAsync(
        "public sealed partial class A : Module { [Lora(Rank = 8, Alpha = 8)] readonly Embedding e = new(1000, 64); }", "LORA0005");

    [Fact]
    public Task Lora0006NotAdaptable() => VerifyAsync("""
        public sealed partial class A : Module { [[|Lora(Rank = 4)|]] readonly LayerNorm ln = new(8); }
        """, "LORA0006", "'A.ln' has type LayerNorm, which LoRA cannot adapt: [Lora] applies to Linear and Embedding fields (or arrays/lists of them)");

    [Fact]
    public Task Lora0006ArrayOfLinearIsFine() => VerifyNoneAsync("public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear[] experts = new Linear[0]; }", "LORA0006");

    [Fact]
    public Task Lora0007Static() => VerifyAsync("""
        public sealed partial class A : Module { [[|Lora(Rank = 4)|]] static readonly Linear shared = new(64, 64); }
        """, "LORA0007", "'A.shared' is static: a static layer is not part of any model instance, so [Lora] cannot adapt it");

    [Fact]
    public Task Lora0008Property() => VerifyAsync("""
        public sealed partial class A : Module { [[|Lora(Rank = 4)|]] public Linear P { get; } = new(64, 64); }
        """, "LORA0008", "'A.P' is a property: put [Lora] on the field that holds the layer");

    [Fact]
    public Task Lora0009NotPartial() => VerifyAsync("""
        public sealed class [|A|] : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """, "LORA0009", "'A' must be declared partial so that LoraGen can generate its module tree and LoRA wiring");

    [Fact]
    public Task Lora0010NotAModule() => VerifyAsync("""
        public sealed partial class A { [[|Lora(Rank = 4)|]] readonly Linear p = new(64, 64); public Linear P => p; }
        """, "LORA0010", "'A' does not derive from LoraGen.Nn.Module: [Lora] has no effect here");

    private const string Tree = """
        public sealed partial class Attention : Module
        {
            readonly Linear q_proj = new(64, 64);
            readonly Linear v_proj = new(64, 64);
        }
        public sealed partial class Block : Module { readonly Attention attn = new(); }
        """;

    [Fact]
    public Task Lora0011TargetMatchesNothing() => VerifyAsync(Tree + """
        [LoraModel(Targets = new[] { "q_proj", [|"qkv"|] })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """, "LORA0011", "Target 'qkv' matches no Linear or Embedding in the module tree of 'Net'; candidates: q_proj, v_proj");

    [Fact]
    public Task Lora0011DottedSuffixTargetsMatch() => VerifyNoneAsync(Tree + """
        [LoraModel(Targets = new[] { "attn.q_proj", "v_proj" }, RankPattern = new[] { "q_proj=16" })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """);

    [Fact]
    public Task Lora0012ConfiguredTwice() => VerifyAsync("""
        public sealed partial class Attention : Module { [[|Lora(Rank = 16)|]] readonly Linear q_proj = new(64, 64); }
        [LoraModel(Rank = 8, Targets = new[] { "q_proj" })]
        public sealed partial class Net : Module { readonly Attention attn = new(); }
        """, "LORA0012", "'attn.q_proj' is selected by [LoraModel(Targets)] as 'q_proj' and also has [Lora] with different settings; the [Lora] settings win");

    [Fact]
    public Task Lora0012SameSettingsAreFine() => VerifyNoneAsync("""
        public sealed partial class Attention : Module { [Lora(Rank = 8)] readonly Linear q_proj = new(64, 64); }
        [LoraModel(Rank = 8, Targets = new[] { "q_proj" })]
        public sealed partial class Net : Module { readonly Attention attn = new(); }
        """, "LORA0012");

    [Fact]
    public Task Lora0013KeyCollision() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4, Name = "proj")] readonly Linear first = new(64, 64);
            [ModuleName("proj")] readonly Linear [|second|] = new(64, 64);
        }
        """, "LORA0013", "'first' and 'second' of 'A' both map to the path segment 'proj': their state-dict and adapter keys would collide");

    [Fact]
    public Task Lora0014WeightWritten() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            public void Poke() { [|q.Weight.Data[3] = 0f|]; }
        }
        """, "LORA0014", "'q.Weight' is written here, but adapters of 'q' may be merged into it: unmerge first or the write is mixed with ΔW");

    [Fact]
    public Task Lora0014CopyFromIsAWrite() => VerifyAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            public void Load(Tensor t) { [|q.Weight.CopyFrom(t)|]; }
        }
        """, "LORA0014", "'q.Weight' is written here, but adapters of 'q' may be merged into it: unmerge first or the write is mixed with ΔW");

    [Fact]
    public Task Lora0014ReadsAndPlainLayersAreFine() => VerifyNoneAsync("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            readonly Linear k = new(64, 64);
            public float Peek() { k.Weight.Data[0] = 1f; return q.Weight.Data[3]; }
        }
        """, "LORA0014");

    [Fact]
    public Task Lora0015RankNotPowerOfTwo() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = [|12|], Alpha = 12)] readonly Linear p = new(512, 512); }
        """, "LORA0015", "Rank 12 of 'A.p' is not a power of two; common choices are 4, 8, 16, 32 or 64");

    [Fact]
    public Task Lora0016ExtremeRatio() => VerifyAsync("""
        public sealed partial class A : Module { [Lora(Rank = 4, Alpha = [|128|])] readonly Linear p = new(512, 512); }
        """, "LORA0016", "Alpha/Rank = 32 for 'A.p' is extreme: the adapter's updates are scaled by 32; ratios between 0.5 and 4 are typical");

    private const string Mlp = """
        [LoraModel(Targets = new[] { "fc" })]
        public sealed partial class Mlp : Module
        {
            readonly Linear fc = new(8, 8);
            public Tensor Forward(Tensor x) => fc.Forward(x);
        }
        """;

    [Fact]
    public Task Lora0017TrainingAfterMerge() => VerifyAsync(Mlp + """
        public static class Trainer
        {
            public static void Run(Mlp m, Tensor x, Optimizer opt)
            {
                var lora = new LoraGen.Lora.LoraModelController(m, LoraGen.Lora.LoraModelOptions.FromFieldsOnly);
                lora.Merge();
                [|m.Forward(x).Sum().Backward()|];
            }
        }
        """, "LORA0017", "'Backward()' runs after Merge() in this method: training a merged model updates A/B that are already folded into the weights; call Unmerge() first");

    [Fact]
    public Task Lora0017UnmergeBeforeTrainingIsFine() => VerifyNoneAsync(Mlp + """
        public static class Trainer
        {
            public static void Run(Mlp m, Tensor x, Optimizer opt)
            {
                var lora = new LoraGen.Lora.LoraModelController(m, LoraGen.Lora.LoraModelOptions.FromFieldsOnly);
                lora.Merge();
                lora.Unmerge();
                m.Forward(x).Sum().Backward();
                opt.Step();
            }
        }
        """, "LORA0017");

    [Fact]
    public Task Lora0018BadPattern() => VerifyAsync("""
        [LoraModel(Targets = new[] { "fc" }, RankPattern = new[] { [|"fc:16"|] })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """, "LORA0018", "'fc:16' in RankPattern is not of the form \"name=value\" with a positive integer rank");

    [Fact]
    public Task Lora0019ContainingTypeNotPartial() => VerifyAsync("""
        public static class Holder { public sealed partial class [|Inner|] : Module { } }
        """, "LORA0019", "'Inner' is nested in 'Holder', which is not partial: LoraGen cannot generate its module tree, so it will have no children");

    [Fact]
    public Task Lora0020RootNotModule() => VerifyAsync("""
        [[|LoraModel|]] public sealed partial class Net { }
        """, "LORA0020", "'Net' does not derive from LoraGen.Nn.Module: the Lora facade cannot be generated");
}
