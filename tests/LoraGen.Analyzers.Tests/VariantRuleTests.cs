using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>LORA02xx, the LoRA-variant rules: positive and negative cases with exact messages, and their fixes.</summary>
public class VariantRuleTests
{
    private static Task TorchAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<VariantAnalyzer> { TestCode = LoraTestSetup.TorchUsings + code };
        LoraTestSetup.ConfigureTorch(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    // ---- LORA0201: DoRA on a TorchSharp model

    [Fact]
    public Task DoraOnATorchSharpFieldAndModelIsReported() => TorchAsync("""
        [LoraModel({|#1:UseDora = true|}, Targets = new[] { "k_proj" })]
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, {|#0:UseDora = true|})] private readonly Linear q_proj;
            private readonly Linear k_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); k_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x) + k_proj.call(x);
        }
        """,
        Verify.Diagnostic("LORA0201", 0, "'Attention.q_proj' asks for DoRA (UseDora = true), but it is a TorchSharp module and the TorchSharp backend has no DoRA yet: remove UseDora or use the managed backend"),
        Verify.Diagnostic("LORA0201", 1, "'Attention' asks for DoRA (UseDora = true), but it is a TorchSharp module and the TorchSharp backend has no DoRA yet: remove UseDora or use the managed backend"));

    [Fact]
    public Task PlainLoraOnTorchSharpAndDoraOnTheManagedRuntimeAreQuiet() => TorchAsync("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, UseDora = false)] private readonly Linear q_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        [LoraModel(UseDora = true)]
        public sealed partial class Managed : LoraGen.Nn.Module
        {
            [Lora(Rank = 4, UseDora = true)] private readonly LoraGen.Nn.Linear p = new(16, 16);
        }
        """);

    [Fact]
    public Task RemoveUseDoraFix()
    {
        var test = new LoraCodeFixTest<VariantAnalyzer, RemoveAttributeArgumentCodeFix>
        {
            TestCode = LoraTestSetup.TorchUsings + """
                public sealed partial class Attention : nn.Module<Tensor, Tensor>
                {
                    [Lora(Rank = 8, {|LORA0201:UseDora = true|})] private readonly Linear q_proj;
                    [Lora({|LORA0201:UseDora = true|})] private readonly Linear v_proj;
                    public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); RegisterComponents(); }
                    public override Tensor forward(Tensor x) => q_proj.call(x) + v_proj.call(x);
                }
                """,
            FixedCode = LoraTestSetup.TorchUsings + """
                public sealed partial class Attention : nn.Module<Tensor, Tensor>
                {
                    [Lora(Rank = 8)] private readonly Linear q_proj;
                    [Lora] private readonly Linear v_proj;
                    public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); RegisterComponents(); }
                    public override Tensor forward(Tensor x) => q_proj.call(x) + v_proj.call(x);
                }
                """,
        };
        LoraTestSetup.ConfigureTorch(test.TestState);
        return test.RunAsync();
    }

    // ---- LORA0202 / LORA0203: PiSSA and OLoRA

    private static Task ManagedAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<VariantAnalyzer> { TestCode = LoraTestSetup.Usings + code };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    [Fact]
    public Task PissaWithDropoutAndOloraOnAnEmbeddingAreReported() => ManagedAsync("""
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4, Init = LoraInit.Pissa, {|#0:Dropout = 0.1|})] private readonly Linear q = new(16, 16);
            [Lora(Rank = 4, {|#1:Init = LoraInit.Olora|})] private readonly Embedding wte = new(100, 16);
            [Lora(Rank = 4, Init = LoraInit.Olora)] private readonly Linear[] heads = new Linear[0];
            [Lora(Rank = 4, Init = LoraInit.Gaussian, Dropout = 0.1)] private readonly Linear v = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0202", 0, "'Net.q' uses Pissa initialisation with Dropout = 0.1: the adapter starts as the principal part of W, and dropping its input perturbs the model from the first step; use Dropout = 0"),
        Verify.Diagnostic("LORA0203", 1, "'Net.wte' uses Olora initialisation, but it is an Embedding: PEFT (and LoraGen) initialise Linear layers this way only"));

    [Fact]
    public Task PissaOnATorchSharpModelIsReported() => TorchAsync("""
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, {|#0:Init = LoraInit.Pissa|})] private readonly Linear q_proj;
            public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }
        """,
        Verify.Diagnostic("LORA0203", 0, "'Attention.q_proj' uses Pissa initialisation, but it is a TorchSharp module and the TorchSharp backend does not implement it yet"));

    [Fact]
    public Task RemoveDropoutFix()
    {
        var test = new LoraCodeFixTest<VariantAnalyzer, RemoveAttributeArgumentCodeFix>
        {
            TestCode = LoraTestSetup.Usings + """
                public sealed partial class Net : Module
                {
                    [Lora(Rank = 4, Init = LoraInit.Pissa, {|LORA0202:Dropout = 0.05|})] private readonly Linear q = new(16, 16);
                }
                """,
            FixedCode = LoraTestSetup.Usings + """
                public sealed partial class Net : Module
                {
                    [Lora(Rank = 4, Init = LoraInit.Pissa)] private readonly Linear q = new(16, 16);
                }
                """,
        };
        return test.RunAsync();
    }
}
