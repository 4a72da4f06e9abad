namespace LoraGen.Package.Tests;

/// <summary>
/// A new TorchSharp user's project, written into a temporary folder: a console app that references the packed
/// LoraGen.TorchSharp package (which brings the "LoraGen" package: generator, analyzers, PEFT unit) and picks
/// libtorch's CPU native package itself, as TorchSharp apps do. Nothing else: the Debian 12 compatibility step comes in
/// through the package's build/ targets. Its model is a small TorchSharp module with a <c>[Lora]</c> field.
/// </summary>
public sealed class TorchSharpConsumerProject : IDisposable
{
    private const string Program = """
        using LoraGen;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        torch.manual_seed(1);
        var model = new Net();
        using var x = torch.randn(4, 8);
        using var before = model.call(x);
        model.Lora.Attach();
        Console.WriteLine(model.Lora.Summary());
        using var after = model.call(x);
        Console.WriteLine($"output [{string.Join(", ", after.shape)}], max |change| after Attach {(after - before).abs().max().item<float>()}");
        model.Lora.Save(Path.Combine(args[0], "torch-adapter"));
        Console.WriteLine($"saved: {string.Join(", ", Directory.GetFiles(Path.Combine(args[0], "torch-adapter")).Select(Path.GetFileName).Order())}");

        [LoraModel]
        public sealed partial class Net : nn.Module<Tensor, Tensor>
        {
            [Lora(Rank = 4, Alpha = 8)] private readonly Linear fc1;
            private readonly Linear fc2;
            public Net() : base(nameof(Net))
            {
                fc1 = nn.Linear(8, 16);
                fc2 = nn.Linear(16, 3);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(fc1.call(x)));
        }
        """;

    public TorchSharpConsumerProject()
    {
        Package = new PackedPackage("LoraGen.TorchSharp");
        Dir = Package.WriteConsumer("torch-consumer", "TorchConsumer", $"""
                    <PackageReference Include="LoraGen.TorchSharp" Version="{Package.Version}" />
                    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
            """, Program);

        (BuildCode, BuildOutput) = PackedPackage.Dotnet(Dir, TimeSpan.FromMinutes(6), "build", "-nodeReuse:false", "-v:n");
        if (BuildCode == 0)
            (RunCode, RunOutput) = PackedPackage.Dotnet(Dir, TimeSpan.FromMinutes(2), "run", "--no-build", "--", Package.Root);
    }

    public PackedPackage Package { get; }
    public string Dir { get; }
    public int BuildCode { get; }
    public string BuildOutput { get; }
    public int RunCode { get; } = -1;
    public string RunOutput { get; } = "";

    public void Dispose() => Package.Dispose();
}
