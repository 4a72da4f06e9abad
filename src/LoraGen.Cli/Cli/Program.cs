namespace LoraGen.Cli;

/// <summary>The process entry point of the <c>loragen</c> tool.</summary>
internal static class Program
{
    private static int Main(string[] args) => LoragenCli.Run(args);
}
