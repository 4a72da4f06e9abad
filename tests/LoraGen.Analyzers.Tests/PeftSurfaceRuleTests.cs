using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// Issue 19: LORA0024 (<see cref="SharedLayerAnalyzer"/>: one layer held by two fields) and the target forms of
/// <see cref="LoraModelAnalyzer"/> — <c>"all-linear"</c> and a regular expression (LORA0025 when it does not parse,
/// LORA0011 when it matches nothing).
/// </summary>
public class PeftSurfaceRuleTests
{
    // LORA0024

    [Fact]
    public Task Lora0024FieldAssignedFromAnotherField() => AnalyzerAsync<SharedLayerAnalyzer>("""
        public sealed partial class Tied : Module
        {
            readonly Linear encoder;
            readonly Linear decoder;
            public Tied()
            {
                encoder = new Linear(8, 8);
                {|#0:decoder = encoder|};
            }
        }
        """, Diagnostic("LORA0024", 0, "'decoder' holds the same layer as 'encoder': the layer is shared, so LoRA adapts it once and saves it under its first path only (a file naming it under either path loads)"));

    [Fact]
    public Task Lora0024OneLocalInTwoFields() => AnalyzerAsync<SharedLayerAnalyzer>("""
        public sealed partial class Tied : Module
        {
            Embedding Wte { get; }
            Embedding Shared { get; }
            public Tied()
            {
                var e = new Embedding(16, 8);
                Wte = e;
                [|Shared = e|];
            }
        }
        """);

    [Fact]
    public Task Lora0024SeparateLayersAndOtherModulesAreFine() => AnalyzerAsync<SharedLayerAnalyzer>("""
        public sealed partial class Two : Module
        {
            readonly Linear a;
            readonly Linear b;
            readonly LayerNorm n1;
            readonly LayerNorm n2;
            public Two()
            {
                a = new Linear(8, 8);
                b = new Linear(8, 8);
                var n = new LayerNorm(8);
                n1 = n;
                n2 = n;
            }
        }
        """);

    // Target forms of [LoraModel(Targets)]

    private const string Tree = """
        public sealed partial class Attention : Module
        {
            readonly Linear q_proj = new(64, 64);
            readonly Linear v_proj = new(64, 64);
        }
        public sealed partial class Block : Module { readonly Attention attn = new(); }
        """;

    [Fact]
    public Task AllLinearAndAMatchingRegexAreFine() => AnalyzerAsync<LoraModelAnalyzer>(Tree + """
        [LoraModel(Targets = new[] { "all-linear", @".*\.attn\.(q|v)_proj" })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; readonly Linear lm_head = new(64, 10); }
        """);

    [Fact]
    public Task Lora0025RegexThatDoesNotParse() => AnalyzerAsync<LoraModelAnalyzer>(Tree + """
        [LoraModel(Targets = new[] { {|#0:@".*\.(q_proj"|} })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """, Diagnostic("LORA0025").WithLocation(0).WithArguments(@".*\.(q_proj", @"Invalid pattern '.*\.(q_proj' at offset 11. Not enough )'s."));

    [Fact]
    public Task Lora0011RegexIsAFullMatch() => AnalyzerAsync<LoraModelAnalyzer>(Tree + """
        [LoraModel(Targets = new[] { {|#0:"(q|v)_proj"|} })]
        public sealed partial class Net : Module { readonly Block[] h = new Block[2]; }
        """, Diagnostic("LORA0011", 0, "Target '(q|v)_proj' matches no Linear or Embedding in the module tree of 'Net'; candidates: q_proj, v_proj"));

    [Fact]
    public Task Lora0011AllLinearWithOnlyTheOutputHead() => AnalyzerAsync<LoraModelAnalyzer>("""
        [LoraModel(Targets = new[] { {|#0:"all-linear"|} })]
        public sealed partial class Net : Module { readonly Embedding wte = new(10, 8); readonly Linear lm_head = new(8, 10); }
        """, Diagnostic("LORA0011", 0, "Target 'all-linear' matches no Linear or Embedding in the module tree of 'Net'; candidates: wte, lm_head"));
}
