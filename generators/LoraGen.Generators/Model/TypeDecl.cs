namespace LoraGen.Generators.Model
{
    /// <summary>A type declaration in the chain that encloses generated members: keyword and name with type parameters.</summary>
    /// <param name="Keyword"><c>class</c>, <c>struct</c>, <c>record</c>, <c>record struct</c> or <c>interface</c>.</param>
    /// <param name="Name">The name with its type parameters, e.g. <c>Inner&lt;TItem&gt;</c>.</param>
    internal readonly record struct TypeDecl(string Keyword, string Name);
}
