using LoraGen.Analyzers.Tests.Verifiers;
using LoraGen.CodeFixes;
using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// Each code fix through <see cref="LoraCodeFixTest{TAnalyzer, TCodeFix}"/>: the fix applied one diagnostic at a time
/// until none is left, and Fix All (the BatchFixer) in document, project and solution, every route ending in the
/// same fixed code. Sources with several diagnostics exercise Fix All in earnest.
/// </summary>
public class CodeFixTests
{
    // MakePartialCodeFix: LORA0009, LORA0020

    [Fact]
    public Task MakePartialKeepsModifiersInOrder() => CodeFixAsync<LoraAttributeAnalyzer, MakePartialCodeFix>("""
        public sealed class {|LORA0009:A|} : Module
        {
            [Lora(Rank = 4)] readonly Linear p = new(64, 64);
        }
        """, """
        public sealed partial class A : Module
        {
            [Lora(Rank = 4)] readonly Linear p = new(64, 64);
        }
        """);

    [Fact]
    public Task MakePartialWithoutModifiers() => CodeFixAsync<LoraAttributeAnalyzer, MakePartialCodeFix>("""
        class {|LORA0009:A|} : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """, """
        partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
        """);

    [Fact]
    public Task MakePartialFixAllAcrossDocuments()
    {
        var test = new LoraCodeFixTest<LoraAttributeAnalyzer, MakePartialCodeFix>
        {
            NumberOfIncrementalIterations = 3,
            NumberOfFixAllInDocumentIterations = 2,   // one per document
            NumberOfFixAllIterations = 1,
        };
        test.TestState.Sources.Add(("A.cs", LoraTestSetup.Usings + """
            public sealed class {|LORA0009:A|} : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); [Lora(Rank = 4)] readonly Linear q = new(64, 64); }
            public class {|LORA0009:B|} : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
            """));
        test.TestState.Sources.Add(("C.cs", LoraTestSetup.Usings + """
            internal sealed class {|LORA0009:C|} : Module { [Lora(Rank = 4)] readonly Embedding e = new(100, 64); }
            """));
        test.FixedState.Sources.Add(("A.cs", LoraTestSetup.Usings + """
            public sealed partial class A : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); [Lora(Rank = 4)] readonly Linear q = new(64, 64); }
            public partial class B : Module { [Lora(Rank = 4)] readonly Linear p = new(64, 64); }
            """));
        test.FixedState.Sources.Add(("C.cs", LoraTestSetup.Usings + """
            internal sealed partial class C : Module { [Lora(Rank = 4)] readonly Embedding e = new(100, 64); }
            """));
        return test.RunAsync();
    }

    [Fact]
    public Task MakePartialFixesANonPartialRoot() => CodeFixAsync<LoraModelAnalyzer, MakePartialCodeFix>("""
        [{|LORA0020:LoraModel(Targets = new[] { "fc" })|}]
        public sealed class Net : Module { readonly Linear fc = new(64, 64); }
        """, """
        [LoraModel(Targets = new[] { "fc" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        """);

    [Fact]
    public Task MakePartialIsNotOfferedForARootThatIsNotAModule() => CodeFixAsync<LoraModelAnalyzer, MakePartialCodeFix>("""
        [{|LORA0020:LoraModel|}] public sealed class Net { }
        """, """
        [{|LORA0020:LoraModel|}] public sealed class Net { }
        """);

    // ClampRankCodeFix: LORA0004, LORA0005

    [Fact]
    public Task ClampRankToTheLargestPowerOfTwoThatSaves() => CodeFixAsync<LoraAttributeAnalyzer, ClampRankCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = {|LORA0004:64|}, Alpha = 64)] readonly Linear p = new(48, 32); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = 16, Alpha = 64)] readonly Linear p = new(48, 32); }
        """); // r·(48 + 32) < 48·32 holds up to r = 19; the fix offers 16, a power of two, so LORA0015 does not follow.

    [Fact]
    public Task ClampRankFixAllOverBothRules() => CodeFixAsync<LoraAttributeAnalyzer, ClampRankCodeFix>("""
        public sealed partial class A : Module
        {
            [Lora(Rank = {|LORA0005:8|}, Alpha = 8)] readonly Linear p = new(16, 8);
            [Lora(Rank = {|LORA0004:128|}, Alpha = 128)] readonly Linear q = new(64, 64);
            [Lora(Rank = {|LORA0005:4|}, Alpha = 4)] readonly Embedding e;
            public A() { e = new Embedding(8, 8); }
        }
        """, """
        public sealed partial class A : Module
        {
            [Lora(Rank = 4, Alpha = 8)] readonly Linear p = new(16, 8);
            [Lora(Rank = 16, Alpha = 128)] readonly Linear q = new(64, 64);
            [Lora(Rank = 2, Alpha = 4)] readonly Embedding e;
            public A() { e = new Embedding(8, 8); }
        }
        """, iterations: 3);

    // AlphaFromRankCodeFix: LORA0002

    [Fact]
    public Task AlphaBecomesTheRank() => CodeFixAsync<LoraAttributeAnalyzer, AlphaFromRankCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = 16, Alpha = {|LORA0002:0|})] readonly Linear p = new(256, 256); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = 16, Alpha = 16)] readonly Linear p = new(256, 256); }
        """);

    [Fact]
    public Task AlphaFixAllOnFieldsAndRoot() => CodeFixAsync<LoraModelAnalyzer, AlphaFromRankCodeFix>("""
        [LoraModel(Rank = 4, Alpha = {|LORA0002:-4|}, Targets = new[] { "fc" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        [LoraModel(Rank = 32, Alpha = {|LORA0002:0.0|})]
        public sealed partial class Other : Module { readonly Linear fc = new(64, 64); }
        """, """
        [LoraModel(Rank = 4, Alpha = 4, Targets = new[] { "fc" })]
        public sealed partial class Net : Module { readonly Linear fc = new(64, 64); }
        [LoraModel(Rank = 32, Alpha = 32)]
        public sealed partial class Other : Module { readonly Linear fc = new(64, 64); }
        """, iterations: 2);

    [Fact]
    public Task AlphaFixIsNotOfferedWhenTheRankIsInvalidToo() => CodeFixAsync<LoraAttributeAnalyzer, AlphaFromRankCodeFix>("""
        public sealed partial class A : Module { [Lora(Rank = {|LORA0001:0|}, Alpha = {|LORA0002:0|})] readonly Linear p = new(256, 256); }
        """, """
        public sealed partial class A : Module { [Lora(Rank = {|LORA0001:0|}, Alpha = {|LORA0002:0|})] readonly Linear p = new(256, 256); }
        """);

    // RemoveLoraAttributeCodeFix: LORA0006, LORA0007, LORA0008

    [Fact]
    public Task RemoveLoraOnItsOwnLine() => CodeFixAsync<LoraAttributeAnalyzer, RemoveLoraAttributeCodeFix>("""
        public sealed partial class A : Module
        {
            [{|LORA0006:Lora(Rank = 4)|}]
            readonly LayerNorm ln = new(8);
        }
        """, """
        public sealed partial class A : Module
        {
            readonly LayerNorm ln = new(8);
        }
        """);

    [Fact]
    public Task RemoveLoraFromAListAndInline() => CodeFixAsync<LoraAttributeAnalyzer, RemoveLoraAttributeCodeFix>("""
        public sealed partial class A : Module
        {
            [Obsolete, {|LORA0007:Lora(Rank = 4)|}] static readonly Linear s = new(4, 4);
            [{|LORA0008:Lora|}] public Linear P { get; } = new(4, 4);
        }
        """, """
        public sealed partial class A : Module
        {
            [Obsolete] static readonly Linear s = new(4, 4);
            public Linear P { get; } = new(4, 4);
        }
        """, iterations: 2);

    [Fact]
    public Task RemoveLoraFixAllOverAllThreeRules() => CodeFixAsync<LoraAttributeAnalyzer, RemoveLoraAttributeCodeFix>("""
        public sealed partial class A : Module
        {
            [{|LORA0006:Lora(Rank = 4)|}]
            readonly LayerNorm ln = new(8);
            [{|LORA0007:Lora(Rank = 4)|}]
            static readonly Linear s = new(4, 4);
            [{|LORA0008:Lora(Rank = 4)|}]
            public Linear P { get; } = new(4, 4);
            [Lora(Rank = 4)]
            readonly Linear kept = new(64, 64);
        }
        """, """
        public sealed partial class A : Module
        {
            readonly LayerNorm ln = new(8);
            static readonly Linear s = new(4, 4);
            public Linear P { get; } = new(4, 4);
            [Lora(Rank = 4)]
            readonly Linear kept = new(64, 64);
        }
        """, iterations: 3);
}
