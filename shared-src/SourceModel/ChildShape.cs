namespace LoraGen.SourceModel
{
    /// <summary>How a field holds child modules.</summary>
    internal enum ChildShape
    {
        None,
        Single,
        Array,
        List,
    }
}
