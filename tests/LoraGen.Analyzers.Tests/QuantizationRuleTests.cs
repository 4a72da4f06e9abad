using LoraGen.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// LORA0214/LORA0217, QLoRA's low-precision base: positive and negative cases with exact messages (LORA0215 is retired).
/// </summary>
public class QuantizationRuleTests
{
    private static Task ManagedAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<QuantizationAnalyzer> { TestCode = LoraTestSetup.Usings + code };
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    [Fact]
    public Task AnAdaptedEmbeddingInAQuantizedModelIsReported() => ManagedAsync("""
        [LoraModel({|#0:BaseQuantization = LoraBaseQuantization.Nf4|}, Targets = new[] { "wpe" })]
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4)] private readonly Embedding wte = new(100, 16);
            private readonly Embedding wpe = new(32, 16);
            private readonly Embedding unadapted = new(8, 16);
            [Lora(Rank = 4)] private readonly Linear q = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0214", 0, "'Net' stores its base in Nf4 (BaseQuantization), but the adapted Embedding 'wte' cannot be quantized: its weight stays fp32"),
        Verify.Diagnostic("LORA0214", 0, "'Net' stores its base in Nf4 (BaseQuantization), but the adapted Embedding 'wpe' cannot be quantized: its weight stays fp32"));

    [Fact]
    public Task LinearOnlyQuantizedModelsAndUnquantizedEmbeddingsAreQuiet() => ManagedAsync("""
        [LoraModel(BaseQuantization = LoraBaseQuantization.Bf16)]
        public sealed partial class Quantized : Module
        {
            private readonly Embedding wte = new(100, 16);
            [Lora(Rank = 4)] private readonly Linear q = new(16, 16);
        }
        [LoraModel(BaseQuantization = LoraBaseQuantization.None)]
        public sealed partial class Plain : Module
        {
            [Lora(Rank = 4)] private readonly Embedding wte = new(100, 16);
        }
        """);

    [Fact]
    public Task AnAdaptedEmbeddingInAnInt8ModelIsReported() => ManagedAsync("""
        [LoraModel({|#0:BaseQuantization = LoraBaseQuantization.Int8|})]
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4)] private readonly Embedding wte = new(100, 16);
            [Lora(Rank = 4)] private readonly Linear q = new(16, 16);
        }
        """,
        Verify.Diagnostic("LORA0214", 0, "'Net' stores its base in Int8 (BaseQuantization), but the adapted Embedding 'wte' cannot be quantized: its weight stays fp32"));

    private static Task TorchAsync(string code, params DiagnosticResult[] expected)
    {
        var test = new LoraAnalyzerTest<QuantizationAnalyzer> { TestCode = LoraTestSetup.TorchUsings + code };
        LoraTestSetup.ConfigureTorch(test.TestState);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static string TorchModel(string name, string attribute) => $$"""
        [LoraModel({{attribute}}, Targets = new[] { "q_proj" })]
        public sealed partial class {{name}} : nn.Module<Tensor, Tensor>
        {
            private readonly Linear q_proj;
            public {{name}}(int d) : base(nameof({{name}})) { q_proj = nn.Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x) => q_proj.call(x);
        }

        """;

    [Fact]
    public Task Nf4AndBf16OnATorchSharpModelAreQuiet() => TorchAsync(   // the TorchSharp backend keeps NF4/BF16 bases (LORA0215 is retired)
        TorchModel("Nf4Attention", "BaseQuantization = LoraBaseQuantization.Nf4") +
        TorchModel("Bf16Attention", "BaseQuantization = LoraBaseQuantization.Bf16") +
        TorchModel("PlainAttention", "BaseQuantization = LoraBaseQuantization.None"));

    [Fact]
    public Task Int8OnATorchSharpModelIsReported() => TorchAsync(
        TorchModel("Attention", "{|#0:BaseQuantization = LoraBaseQuantization.Int8|}"),
        Verify.Diagnostic("LORA0217", 0,
            "'Attention' is a TorchSharp module and sets BaseQuantization = Int8, but the TorchSharp backend keeps NF4 and BF16 bases only (Attach throws NotSupportedException): use Nf4 or Bf16, or the managed backend, which has Int8"));

    [Fact]
    public Task AFormatTheTorchSharpBackendDoesNotKnowIsReportedToo() => TorchAsync(   // an allow-list: a later format is not taken for NF4
        TorchModel("Attention", "{|#0:BaseQuantization = (LoraBaseQuantization)7|}"),
        Verify.Diagnostic("LORA0217", 0,
            "'Attention' is a TorchSharp module and sets BaseQuantization = 7, but the TorchSharp backend keeps NF4 and BF16 bases only (Attach throws NotSupportedException): use Nf4 or Bf16, or the managed backend, which has Int8"));

    [Fact]
    public Task Int8OnAManagedModelIsNotLora0217() => ManagedAsync("""
        [LoraModel(BaseQuantization = LoraBaseQuantization.Int8)]
        public sealed partial class Net : Module
        {
            [Lora(Rank = 4)] private readonly Linear q = new(16, 16);
        }
        """);
}
