using LoraGen.SourceModel;

namespace LoraGen.Generators.Model
{
    /// <summary>What the generator knows about one partial Module subclass (the structural pipeline).</summary>
    /// <param name="TypeKey">The fully qualified type name, the key the other pipelines join on.</param>
    /// <param name="HintName">The generated file's name, <c>&lt;Type&gt;.Lora.g.cs</c>.</param>
    /// <param name="Namespace">The containing namespace, empty for the global one.</param>
    /// <param name="Containing">The enclosing types, outermost first.</param>
    /// <param name="Self">The type itself.</param>
    /// <param name="CallBaseChildren">The base type is a Module subclass whose children come first.</param>
    /// <param name="EmitChildren">The user did not write <c>Children()</c>.</param>
    /// <param name="UserDefinesSpecFor">The user wrote <c>AdapterSpecFor</c>, so no specs are generated.</param>
    /// <param name="Children">The fields that hold child modules, in declaration order.</param>
    internal readonly record struct ModuleTypeModel(
        string TypeKey,
        string HintName,
        string Namespace,
        EquatableArray<TypeDecl> Containing,
        TypeDecl Self,
        bool CallBaseChildren,
        bool EmitChildren,
        bool UserDefinesSpecFor,
        EquatableArray<ChildModel> Children);
}
