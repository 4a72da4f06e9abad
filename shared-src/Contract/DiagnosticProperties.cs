namespace LoraGen.Contract
{
    /// <summary>
    /// The keys of <c>Diagnostic.Properties</c> that the LoraGen analyzers fill in and the code fixes read. Both sides
    /// spell a key only through these constants; a value is always written with the invariant culture.
    /// </summary>
    internal static class DiagnosticProperties
    {
        /// <summary>
        /// LORA0004 / LORA0005: the largest power-of-two rank below min(in, out) whose adapter is still smaller than the
        /// layer, as an integer literal. The clamp-rank fix writes it into <c>Rank = …</c>.
        /// </summary>
        public const string MaxRank = "MaxRank";

        /// <summary>
        /// LORA0001 / LORA0003: a valid value for the flagged argument (a power-of-two rank, a dropout in [0, 1)), as a
        /// literal that no other rule flags. The replace-value fix writes it in place of the bad one. LORA0204 / LORA0205 /
        /// LORA0209: PEFT's value (LoRA+ ratio 16; the closest combination type or majority sign method, as a string
        /// literal), which the use-PEFT-value fix writes.
        /// </summary>
        public const string Replacement = "Replacement";

        /// <summary>
        /// LORA0011: the layer names the target could have meant, separated by <see cref="CandidateSeparator"/>. The
        /// pick-target fix offers one action per name.
        /// </summary>
        public const string Candidates = "Candidates";

        /// <summary>Separates the names in <see cref="Candidates"/> (never part of a C# identifier or a PEFT module name).</summary>
        public const char CandidateSeparator = '|';

        /// <summary>
        /// LORA0002: the alpha a missing <c>Alpha</c> would get (the rank, for scaling 1), as a numeric literal. The
        /// alpha-from-rank fix writes it into <c>Alpha = …</c>.
        /// </summary>
        public const string Rank = "Rank";

        /// <summary>
        /// LORA0009 / LORA0020: the simple name of the class that must become partial. The make-partial fix adds
        /// <c>partial</c> to every declaration of that class.
        /// </summary>
        public const string Type = "Type";
    }
}
