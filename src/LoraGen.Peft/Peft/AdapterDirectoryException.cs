namespace LoraGen.Peft;

/// <summary>
/// An adapter directory cannot be loaded as one adapter: a file is missing, or the weights and the config do not
/// belong to the same save (see <see cref="AdapterDirectory"/>). <see cref="NoAdapterException"/>, a subclass, means
/// there is no adapter there at all.
/// </summary>
public class AdapterDirectoryException : IOException
{
    /// <summary>Creates the exception.</summary>
    public AdapterDirectoryException(string directory, string detail, Exception? inner = null)
        : base($"{directory}: {detail}", inner)
    {
        Directory = directory;
    }

    /// <summary>The adapter directory.</summary>
    public string Directory { get; }
}
