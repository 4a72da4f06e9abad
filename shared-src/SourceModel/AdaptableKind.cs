namespace LoraGen.SourceModel
{
    /// <summary>Which adaptable layer a field holds.</summary>
    internal enum AdaptableKind
    {
        None,
        Linear,
        Embedding,
    }
}
