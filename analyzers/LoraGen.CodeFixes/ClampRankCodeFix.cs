using System.Composition;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0004 / LORA0005: set Rank to the largest rank that still saves parameters.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ClampRankCodeFix)), Shared]
    public sealed class ClampRankCodeFix() : ReplaceArgumentCodeFix(DiagnosticProperties.MaxRank, "Set Rank = {0}", "LORA0004", "LORA0005");
}
