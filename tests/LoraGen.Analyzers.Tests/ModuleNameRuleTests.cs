using Xunit;
using static LoraGen.Analyzers.Tests.Verifiers.Verify;

namespace LoraGen.Analyzers.Tests;

/// <summary>
/// Issue 17 items 11 and 12, LORA0023: names given by [ModuleName]/[Lora(Name)] that are not module-path segments, and
/// module types or members named like the members the generator adds.
/// </summary>
public class ModuleNameRuleTests
{
    [Fact]
    public Task NamesThatAreNotPathSegmentsAreErrors() => AnalyzerAsync<LoraModelAnalyzer>("""
        public sealed partial class Block : Module
        {
            [{|LORA0023:ModuleName("attn.q")|}] readonly Linear q = new(8, 8);
            [{|LORA0023:ModuleName("")|}] readonly Linear k = new(8, 8);
            [{|LORA0023:ModuleName("a b")|}] readonly Linear v = new(8, 8);
            [{|LORA0023:ModuleName("x\u0001")|}] readonly Linear o = new(8, 8);
            [{|LORA0023:Lora(Rank = 2, Name = "up.proj")|}] readonly Linear up = new(8, 8);
        }
        """);

    [Fact]
    public Task ValidNamesAreFine() => AnalyzerAsync<LoraModelAnalyzer>("""
        public sealed partial class Block : Module
        {
            [ModuleName("q_proj")] readonly Linear q = new(8, 8);
            [Lora(Rank = 2, Name = "up-proj")] readonly Linear up = new(8, 8);
            readonly int Lora = 1;   // not a [LoraModel] root: no facade is generated here
        }
        """);

    [Fact]
    public Task ModuleTypesAndMembersNamedLikeGeneratedMembersAreErrors() => AnalyzerAsync<LoraModelAnalyzer>("""
        public sealed partial class {|LORA0023:Children|} : Module { readonly Linear fc = new(8, 8); }
        [LoraModel]
        public sealed partial class Gpt : Module
        {
            [Lora(Rank = 2)] readonly Linear head = new(8, 8);
            public int {|LORA0023:LoraKeys|};
            public sealed class {|LORA0023:LoraOptions|} { }
        }
        """);
}
