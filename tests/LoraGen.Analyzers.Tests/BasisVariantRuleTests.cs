using LoraGen.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>LORA0210–LORA0213, the VeRA/NoLA rules: positive and negative cases with exact messages.</summary>
public class BasisVariantRuleTests
{
    private static Task ManagedAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<BasisVariantAnalyzer> { TestCode = LoraTestSetup.Usings + code };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    [Fact]
    public Task VeraFieldsWithDifferentRanksAreReported() => ManagedAsync("""
        [LoraModel(Rank = 8, Variant = LoraVariant.Vera, Targets = new[] { "k" })]
        public sealed partial class Net : Module
        {
            [Lora(Rank = 8, Variant = LoraVariant.Vera)] private readonly Linear q = new(16, 16);
            [Lora({|#0:Rank = 4|}, Variant = LoraVariant.Vera)] private readonly Linear v = new(16, 16);
            [Lora(Rank = 2)] private readonly Linear o = new(16, 16);
            private readonly Linear k = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0210", 0, "'Net.v' uses VeRA with rank 4, but 'Net' uses VeRA with rank 8: VeRA shares one pair of projections across the adapter's layers, so every layer needs the same rank"));

    [Fact]
    public Task VeraWithOneRankAndNolaWithAnyRanksAreQuiet() => ManagedAsync("""
        public sealed partial class Net : Module
        {
            [Lora(Rank = 8, Variant = LoraVariant.Vera)] private readonly Linear q = new(16, 16);
            [Lora(Rank = 8, Variant = LoraVariant.Vera)] private readonly Linear v = new(16, 16);
        }
        public sealed partial class Other : Module
        {
            [Lora(Rank = 8, Variant = LoraVariant.Nola, NolaBases = 1)] private readonly Linear q = new(16, 16);
            [Lora(Rank = 2, Variant = LoraVariant.Nola)] private readonly Linear v = new(16, 16);
            [Lora(Rank = 2, UseDora = true, Init = LoraInit.Pissa)] private readonly Linear o = new(16, 16);
        }
        """);

    [Fact]
    public Task NolaWithoutBasesIsReported() => ManagedAsync("""
        public sealed partial class Net : Module
        {
            [Lora(Rank = 8, Variant = LoraVariant.Nola, {|#0:NolaBases = 0|})] private readonly Linear q = new(16, 16);
            [Lora(Rank = 8, Variant = LoraVariant.Vera, NolaBases = 0)] private readonly Linear v = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0211", 0, "'Net.q' asks for NoLA with NolaBases = 0: NoLA needs at least one random basis for A and for B (k >= 1)"));

    [Fact]
    public Task EmbeddingsAndConflictingSettingsAreReported() => ManagedAsync("""
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4, {|#0:Variant = LoraVariant.Vera|})] private readonly Embedding wte = new(100, 16);
            [Lora(Rank = 4, Variant = LoraVariant.Nola, {|#1:UseDora = true|})] private readonly Linear q = new(16, 16);
            [Lora(Rank = 4, Variant = LoraVariant.Nola, {|#2:Init = LoraInit.Olora|})] private readonly Linear v = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0212", 0, "'Net.wte' asks for VeRA, but it is an Embedding: VeRA and NoLA adapt Linear layers only"),
        Verify.Diagnostic("LORA0213", 1, "'Net.q' asks for NoLA together with DoRA (UseDora = true): its matrices are frozen random projections, which these settings cannot apply to"),
        Verify.Diagnostic("LORA0213", 2, "'Net.v' asks for NoLA together with Olora initialisation: its matrices are frozen random projections, which these settings cannot apply to"));

    [Fact]
    public Task TorchSharpEmbeddingsAreReportedAndLinearsAreNot()
    {
        var test = new LoraAnalyzerTest<BasisVariantAnalyzer>
        {
            TestCode = LoraTestSetup.TorchUsings + """
                public sealed partial class Attention : nn.Module<Tensor, Tensor>
                {
                    [Lora(Rank = 8, Variant = LoraVariant.Vera)] private readonly Linear q_proj;
                    [Lora(Rank = 8, Variant = LoraVariant.Nola)] private readonly Linear v_proj;
                    [Lora(Rank = 8, {|#0:Variant = LoraVariant.Nola|})] private readonly Embedding wte;
                    public Attention(int d) : base(nameof(Attention)) { q_proj = nn.Linear(d, d); v_proj = nn.Linear(d, d); wte = nn.Embedding(10, d); RegisterComponents(); }
                    public override Tensor forward(Tensor x) => v_proj.call(q_proj.call(x));
                }
                """,
        };
        LoraTestSetup.ConfigureTorch(test.TestState);
        test.ExpectedDiagnostics.Add(Verify.Diagnostic("LORA0212", 0, "'Attention.wte' asks for NoLA, but it is an Embedding: VeRA and NoLA adapt Linear layers only"));
        return test.RunAsync();
    }
}
