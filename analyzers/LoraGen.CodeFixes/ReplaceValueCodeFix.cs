using System.Composition;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace LoraGen.CodeFixes
{
    /// <summary>LORA0001 / LORA0003: replace an invalid Rank or Dropout with a valid value the analyzer chose.</summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ReplaceValueCodeFix)), Shared]
    public sealed class ReplaceValueCodeFix() : ReplaceArgumentCodeFix(DiagnosticProperties.Replacement, "Use {0}", "LORA0001", "LORA0003");
}
