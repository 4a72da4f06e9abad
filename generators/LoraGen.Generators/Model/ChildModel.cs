using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>A field that holds child modules.</summary>
    /// <param name="FieldName">The C# field.</param>
    /// <param name="PathName">Its segment in module paths.</param>
    /// <param name="Shape">One module, an array, or a list.</param>
    internal readonly record struct ChildModel(string FieldName, string PathName, ChildShape Shape);
}
