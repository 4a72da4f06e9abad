namespace LoraGen.SourceModel
{
    /// <summary>A <c>"name=value"</c> entry of RankPattern or AlphaPattern.</summary>
    internal readonly record struct PatternEntry(string Name, double Value);
}
