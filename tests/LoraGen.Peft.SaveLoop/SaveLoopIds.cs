namespace LoraGen.Peft.SaveLoop;

/// <summary>Names shared by the child and the kill test.</summary>
public static class SaveLoopIds
{
    /// <summary>The weights' metadata entry holding the save's id (the config holds it as base_model_name_or_path).</summary>
    public const string MetadataKey = "saveloop.id";
}
