using LoraGen.Contract;

namespace LoraGen.SourceModel
{
    /// <summary>
    /// Aliases of <see cref="RuntimeNames"/> kept for code that still reads them (the analyzers). New code reads
    /// <see cref="RuntimeNames"/> directly; the names are spelled only there.
    /// </summary>
    internal static class KnownTypes
    {
        public const string Module = RuntimeNames.Module;
        public const string Linear = RuntimeNames.Linear;
        public const string Embedding = RuntimeNames.Embedding;
        public const string LoraAttribute = RuntimeNames.LoraAttribute;
        public const string LoraModelAttribute = RuntimeNames.LoraModelAttribute;
        public const string ModuleNameAttribute = RuntimeNames.ModuleNameAttribute;
    }
}
