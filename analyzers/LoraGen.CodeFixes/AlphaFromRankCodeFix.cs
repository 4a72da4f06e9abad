using System.Composition;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0002: replace a zero or negative Alpha with the rank (scaling 1).</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AlphaFromRankCodeFix)), Shared]
    public sealed class AlphaFromRankCodeFix() : ReplaceArgumentCodeFix(DiagnosticProperties.Rank, "Set Alpha = {0} (the rank)", "LORA0002");
}
