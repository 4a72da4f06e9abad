namespace LoraGen.Cli.Tests;

/// <summary>Runs loragen in-process and captures its output.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = LoragenCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
