using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// LORA0101–0103 on TorchSharp models (TorchSharp's managed assembly as metadata): positive and negative cases with
/// exact messages, and the LORA0101 fix one at a time and by Fix All.
/// </summary>
public class TorchRuleTests
{
    private static Task AnalyzerAsync<TAnalyzer>(string code, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new LoraAnalyzerTest<TAnalyzer> { TestCode = LoraTestSetup.TorchUsings + code };
        LoraTestSetup.ConfigureTorch(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static Task FixAsync(string code, string fixedCode)
    {
        var test = new LoraCodeFixTest<TorchForwardCallAnalyzer, ReplaceForwardWithCallCodeFix>
        {
            TestCode = LoraTestSetup.TorchUsings + code,
            FixedCode = LoraTestSetup.TorchUsings + fixedCode,
        };
        LoraTestSetup.ConfigureTorch(test.TestState);
        return test.RunAsync();
    }

    // ---- LORA0101: forward(x) on an adapted layer

    [Fact]
    public Task ForwardOnAdaptedFieldIsReported() => AnalyzerAsync<TorchForwardCallAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, Alpha = 16)] private readonly Linear q_proj;
            private readonly Linear k_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); k_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => {|#0:q_proj.forward(x)|} + k_proj.forward(x);
        }
        """, Verify.Diagnostic("LORA0101", 0,
        "'q_proj' has [Lora] but is invoked with forward(x), which skips forward hooks: the LoRA adapter is silently left out; use call(x)"));

    [Fact]
    public Task ForwardOnElementsOfAdaptedListAndEmbeddingIsReported() => AnalyzerAsync<TorchForwardCallAnalyzer>("""
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 4)] private readonly ModuleList<Linear> h;
            [Lora(Rank = 4)] private readonly Embedding wte;
            public Net() : base(nameof(Net)) { h = nn.ModuleList(nn.Linear(8, 8)); wte = nn.Embedding(10, 8); RegisterComponents(); }
            public override Tensor forward(Tensor x) => [|h[0].forward([|wte.forward(x)|])|];
        }
        """);

    [Fact]
    public Task CallAndUnadaptedForwardAreNotReported() => AnalyzerAsync<TorchForwardCallAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            private readonly Linear k_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); k_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x) + k_proj.forward(x);
            public Tensor Inner(Tensor x) => forward(x);
        }
        """);

    [Fact]
    public Task ForwardFixReplacesWithCall() => FixAsync("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            [Lora(Rank = 8)] private readonly Linear v_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => [|q_proj.forward(x)|] * [|this.v_proj.forward(x)|] + [|q_proj
                .forward(x)|];
        }
        """, """
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            [Lora(Rank = 8)] private readonly Linear v_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x) * this.v_proj.call(x) + q_proj
                .call(x);
        }
        """);

    [Fact]
    public Task ManagedBackendForwardIsNotReported() => AnalyzerAsync<TorchForwardCallAnalyzer>("""
        public sealed class Plain
        {
            [Lora(Rank = 8)] private readonly object q_proj = new();
            public string forward() => q_proj.ToString()!;
        }
        """);

    // ---- LORA0102: no RegisterComponents()

    [Fact]
    public Task ConstructorWithoutRegisterComponentsIsReported() => AnalyzerAsync<TorchRegisterComponentsAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            public {|#0:Attention|}(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        """, Verify.Diagnostic("LORA0102", 0,
        "This constructor of 'Attention' never calls RegisterComponents(): its layers are not registered, so LoRA finds no targets and parameters(), to(device) and state_dict() miss them"));

    [Fact]
    public Task LoraModelRootWithoutRegisterComponentsIsReported() => AnalyzerAsync<TorchRegisterComponentsAnalyzer>("""
        [LoraModel]
        public sealed partial class Gpt : nn.Module<Tensor, Tensor>
        {
            private readonly Linear head;
            public [|Gpt|]() : base(nameof(Gpt)) => head = nn.Linear(4, 4);
            public override Tensor forward(Tensor x) => head.call(x);
        }
        """);

    [Fact]
    public Task RegisteringOrChainingOrNonLoraModulesAreNotReported() => AnalyzerAsync<TorchRegisterComponentsAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); RegisterComponents(); }
            public Attention() : this(16) { }
            static Attention() { }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        public sealed class Plain : nn.Module<Tensor, Tensor>
        {
            private readonly Linear p;
            public Plain() : base(nameof(Plain)) { p = nn.Linear(4, 4); }
            public override Tensor forward(Tensor x) => p.call(x);
        }
        """);

    // ---- LORA0103: adapted field reassigned

    [Fact]
    public Task ReassignmentInAMethodIsReported() => AnalyzerAsync<TorchFieldReassignmentAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private Linear q_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); RegisterComponents(); }
            public void Resize(int d) => {|#0:q_proj = nn.Linear(d, d)|};
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        """, Verify.Diagnostic("LORA0103", 0,
        "'q_proj' has [Lora] and is reassigned after construction: the new layer has no LoRA hook and the registered child is still the old one"));

    [Fact]
    public Task ReassignmentAfterRegisterComponentsIsReported() => AnalyzerAsync<TorchFieldReassignmentAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private readonly Linear q_proj;
            public Attention(int d) : base(nameof(Attention))
            {
                q_proj = nn.Linear(d, d);
                RegisterComponents();
                {|#0:q_proj = nn.Linear(d, 2 * d)|};
            }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        """, Verify.Diagnostic("LORA0103", 0,
        "'q_proj' has [Lora] and is reassigned after RegisterComponents(): the new layer has no LoRA hook and the registered child is still the old one"));

    [Fact]
    public Task AssignmentInConstructorOrToPlainFieldIsNotReported() => AnalyzerAsync<TorchFieldReassignmentAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8)] private Linear q_proj = nn.Linear(4, 4);
            private Linear k_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); k_proj = nn.Linear(d, d); RegisterComponents(); }
            public void Swap(int d) => k_proj = nn.Linear(d, d);
            public override Tensor forward(Tensor x) => q_proj.call(x) + k_proj.call(x);
        }
        """);

    // ---- the LORA00xx rules on TorchSharp models (the managed runtime is referenced too, as in a mixed project)

    [Fact]
    public Task TorchSharpModelIsAModuleForTheAttributeRules() => AnalyzerAsync<LoraAttributeAnalyzer>("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, Alpha = 16)] private readonly Linear q_proj;
            [Lora(Rank = 4)] private readonly ModuleList<Embedding> tables;
            [{|#0:Lora(Rank = 4)|}] private readonly LayerNorm ln;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); tables = nn.ModuleList(nn.Embedding(4, d)); ln = nn.LayerNorm(d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        """, Verify.Diagnostic("LORA0006", 0,
        "'Attention.ln' has type LayerNorm, which LoRA cannot adapt: [Lora] applies to Linear and Embedding fields (or arrays/lists of them)"));

    [Fact]
    public Task TorchSharpRootIsAModuleForTheModelRules() => AnalyzerAsync<LoraModelAnalyzer>("""
        [LoraModel]
        public sealed partial class Gpt : nn.Module<Tensor, Tensor>
        {
            private readonly Linear head;
            public Gpt() : base(nameof(Gpt)) { head = nn.Linear(4, 4); RegisterComponents(); }
            public override Tensor forward(Tensor x) => head.call(x);
        }
        [{|LORA0020:LoraModel|}]
        public sealed class NotPartial : nn.Module<Tensor, Tensor>
        {
            public NotPartial() : base(nameof(NotPartial)) { RegisterComponents(); }
            public override Tensor forward(Tensor x) => x;
        }
        """);
}
