using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// The single-rule analyzers, <see cref="WeightMutationAnalyzer"/> (LORA0014) and <see cref="MergeThenTrainAnalyzer"/>
/// (LORA0017), where <c>[|…|]</c> marks the one rule each reports.
/// </summary>
public class TrainingRuleTests
{
    // LORA0014

    [Fact]
    public Task Lora0014ElementWritten() => AnalyzerAsync<WeightMutationAnalyzer>("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            public void Poke() { {|#0:q.Weight.Data[3] = 0f|}; }
        }
        """, Diagnostic("LORA0014", 0, "'q.Weight' is written here, but adapters of 'q' may be merged into it: unmerge first or the write is mixed with ΔW"));

    [Fact]
    public Task Lora0014CompoundAndIncrementAreWrites() => AnalyzerAsync<WeightMutationAnalyzer>("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            public void Nudge() { [|q.Weight.Data[0] += 1f|]; [|q.Weight.Data[1]++|]; }
        }
        """);

    [Fact]
    public Task Lora0014MutatingCallsAreWrites() => AnalyzerAsync<WeightMutationAnalyzer>("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            public void Load(Tensor t, float[] values)
            {
                [|q.Weight.CopyFrom(t)|];
                [|q.Weight.Data.Fill(0f)|];
                [|values.AsSpan().CopyTo(q.Weight.Data)|];
            }
        }
        """);

    [Fact]
    public Task Lora0014ReadsAndPlainLayersAreFine() => AnalyzerAsync<WeightMutationAnalyzer>("""
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear q = new(64, 64);
            readonly Linear k = new(64, 64);
            public float Peek(float[] into) { k.Weight.Data[0] = 1f; q.Weight.Data.CopyTo(into); return q.Weight.Data[3]; }
        }
        """);

    // LORA0017

    private const string Mlp = """
        [LoraModel(Targets = new[] { "fc" })]
        public sealed partial class Mlp : Module
        {
            readonly Linear fc = new(8, 8);
            public Tensor Forward(Tensor x) => fc.Forward(x);
        }

        """;

    [Fact]
    public Task Lora0017BackwardAfterMerge() => AnalyzerAsync<MergeThenTrainAnalyzer>(Mlp + """
        public static class Trainer
        {
            public static void Run(Mlp m, Tensor x)
            {
                var lora = new LoraGen.Lora.LoraModelController(m, LoraGen.Lora.LoraModelOptions.FromFieldsOnly);
                lora.Merge();
                {|#0:m.Forward(x).Sum().Backward()|};
            }
        }
        """, Diagnostic("LORA0017", 0, "'Backward()' runs after Merge() in this method: training a merged model updates A/B that are already folded into the weights; call Unmerge() first"));

    [Fact]
    public Task Lora0017StepAfterMergeOncePerMerge() => AnalyzerAsync<MergeThenTrainAnalyzer>(Mlp + """
        public static class Trainer
        {
            public static void Run(Mlp m, Tensor x, Optimizer opt)
            {
                var lora = new LoraGen.Lora.LoraModelController(m, LoraGen.Lora.LoraModelOptions.FromFieldsOnly);
                lora.Merge();
                [|opt.Step()|];
                opt.Step();
            }
        }
        """);

    [Fact]
    public Task Lora0017UnmergeBeforeTrainingIsFine() => AnalyzerAsync<MergeThenTrainAnalyzer>(Mlp + """
        public static class Trainer
        {
            public static void Run(Mlp m, Tensor x, Optimizer opt)
            {
                var lora = new LoraGen.Lora.LoraModelController(m, LoraGen.Lora.LoraModelOptions.FromFieldsOnly);
                m.Forward(x).Sum().Backward();
                lora.Merge();
                lora.Unmerge();
                m.Forward(x).Sum().Backward();
                opt.Step();
            }
        }
        """);
}
