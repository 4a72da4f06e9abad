using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>LORA0202/0203/0216, the PiSSA/OLoRA rules (LORA0201 is retired): positive and negative cases with exact messages, and their fixes.</summary>
public class VariantRuleTests
{
    private static Task TorchAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<VariantAnalyzer> { TestCode = LoraTestSetup.TorchUsings + code };
        LoraTestSetup.ConfigureTorch(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    // ---- LORA0201 is retired (the TorchSharp backend applies DoRA): DoRA and PiSSA/OLoRA on TorchSharp Linear layers are quiet

    [Fact]
    public Task DoraAndResidualInitOnTorchSharpLinearLayersAreQuiet() => TorchAsync("""
        [LoraModel(UseDora = true, Targets = new[] { "k_proj" })]
        public sealed partial class Attention : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 8, UseDora = true)] private readonly Linear q_proj;
            private readonly Linear k_proj;
            [Lora(Rank = 8, Init = LoraInit.Pissa)] private readonly Linear v_proj;
            [Lora(Rank = 4, Init = LoraInit.Olora)] private readonly ModuleList<Linear> heads;
            [Lora(Rank = 4, UseDora = true)] private readonly Embedding wte;
            public Attention(int d) : base(nameof(Attention))
            {
                q_proj = nn.Linear(d, d); k_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); heads = nn.ModuleList(nn.Linear(d, d)); wte = nn.Embedding(10, d);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => q_proj.call(x) + k_proj.call(x) + v_proj.call(x);
        }
        """);

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
    public Task ResidualInitOnTorchSharpEmbeddingsIsReported() => TorchAsync("""
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 4, {|#0:Init = LoraInit.Pissa|})] private readonly Embedding wte;
            [Lora(Rank = 4, {|#1:Init = LoraInit.Olora|})] private readonly ModuleList<Embedding> tables;
            [Lora(Rank = 4, Init = LoraInit.Pissa)] private readonly Linear q;
            public Net() : base(nameof(Net)) { wte = nn.Embedding(10, 8); tables = nn.ModuleList(nn.Embedding(4, 8)); q = nn.Linear(8, 8); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q.call(x);
        }
        """,
        Verify.Diagnostic("LORA0203", 0, "'Net.wte' uses Pissa initialisation, but it is an Embedding: PEFT (and LoraGen) initialise Linear layers this way only"),
        Verify.Diagnostic("LORA0203", 1, "'Net.tables' uses Olora initialisation, but it is an Embedding: PEFT (and LoraGen) initialise Linear layers this way only"));

    [Fact]
    public Task RemoveInitFix()
    {
        var test = new LoraCodeFixTest<VariantAnalyzer, RemoveAttributeArgumentCodeFix>
        {
            TestCode = LoraTestSetup.TorchUsings + """
                public sealed partial class Net : nn.Module<Tensor, Tensor>
                {
                    [Lora(Rank = 4, {|LORA0203:Init = LoraInit.Olora|})] private readonly Embedding wte;
                    [Lora({|LORA0203:Init = LoraInit.Pissa|})] private readonly Embedding wpe;
                    public Net() : base(nameof(Net)) { wte = nn.Embedding(10, 8); wpe = nn.Embedding(4, 8); RegisterComponents(); }
                    public override Tensor forward(Tensor x) => x;
                }
                """,
            FixedCode = LoraTestSetup.TorchUsings + """
                public sealed partial class Net : nn.Module<Tensor, Tensor>
                {
                    [Lora(Rank = 4)] private readonly Embedding wte;
                    [Lora] private readonly Embedding wpe;
                    public Net() : base(nameof(Net)) { wte = nn.Embedding(10, 8); wpe = nn.Embedding(4, 8); RegisterComponents(); }
                    public override Tensor forward(Tensor x) => x;
                }
                """,
        };
        LoraTestSetup.ConfigureTorch(test.TestState);
        return test.RunAsync();
    }

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

    // ---- LORA0216: DoRA together with PiSSA/OLoRA in one attribute

    [Fact]
    public Task DoraWithResidualInitIsReportedOnFieldsAndModels() => ManagedAsync("""
        [LoraModel(Targets = new[] { "k" }, Init = LoraInit.Olora, {|#0:UseDora = true|})]
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4, Init = LoraInit.Pissa, {|#1:UseDora = true|})] private readonly Linear q = new(16, 16);
            private readonly Linear k = new(16, 16);
            [Lora(Rank = 4, UseDora = true)] private readonly Linear v = new(16, 16);
            [Lora(Rank = 4, Init = LoraInit.Pissa, UseDora = false)] private readonly Linear o = new(16, 16);
            [Lora(Rank = 4, Init = LoraInit.Gaussian, UseDora = true)] private readonly Linear g = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0216", 0, "'Net' asks for DoRA (UseDora = true) together with Olora initialisation: both backends refuse this at run time; use one or the other"),
        Verify.Diagnostic("LORA0216", 1, "'Net.q' asks for DoRA (UseDora = true) together with Pissa initialisation: both backends refuse this at run time; use one or the other"));

    [Fact]
    public Task DoraWithResidualInitOnTorchSharpIsReported() => TorchAsync("""
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 4, Init = LoraInit.Olora, {|#0:UseDora = true|})] private readonly Linear q;
            public Net() : base(nameof(Net)) { q = nn.Linear(8, 8); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q.call(x);
        }
        """,
        Verify.Diagnostic("LORA0216", 0, "'Net.q' asks for DoRA (UseDora = true) together with Olora initialisation: both backends refuse this at run time; use one or the other"));

    [Fact]
    public Task RemoveUseDoraFix()
    {
        var test = new LoraCodeFixTest<VariantAnalyzer, RemoveAttributeArgumentCodeFix>
        {
            TestCode = LoraTestSetup.Usings + """
                public sealed partial class Net : Module
                {
                    [Lora(Rank = 4, Init = LoraInit.Pissa, {|LORA0216:UseDora = true|})] private readonly Linear q = new(16, 16);
                    [Lora({|LORA0216:UseDora = true|}, Init = LoraInit.Olora)] private readonly Linear v = new(16, 16);
                }
                """,
            FixedCode = LoraTestSetup.Usings + """
                public sealed partial class Net : Module
                {
                    [Lora(Rank = 4, Init = LoraInit.Pissa)] private readonly Linear q = new(16, 16);
                    [Lora(Init = LoraInit.Olora)] private readonly Linear v = new(16, 16);
                }
                """,
        };
        return test.RunAsync();
    }
}
