using System.Composition;
using LoraGen.Contract;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;

namespace LoraGen.CodeFixes
{
    /// <summary>
    /// LORA0204 / LORA0205 / LORA0209: replace a LoRA+ ratio with PEFT's default (16), or a misspelt combination type or
    /// majority sign method with the PEFT name the analyzer found closest (offered only when there is an obvious one).
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UsePeftValueCodeFix)), Shared]
    public sealed class UsePeftValueCodeFix() : ReplaceArgumentCodeFix(DiagnosticProperties.Replacement, "Use {0}", "LORA0204", "LORA0205", "LORA0209");
}
