namespace LoraGen.Package.Tests;

/// <summary>
/// A new user's project, written into a temporary folder: a console app that references the packed LoraGen package
/// (a nuget.config lists the temporary feed and the usual source) and builds an MLP of its own. Built twice: as is,
/// then with <c>BROKEN</c> defined, which adds a non-partial child module.
/// </summary>
public sealed class ConsumerProject : IDisposable
{
    private const string Program = """
        using System.Text.Json.Nodes;
        using LoraGen;
        using LoraGen.Autograd;
        using LoraGen.Nn;
        using LoraGen.Ops;
        using LoraGen.Optim;
        using LoraGen.Tensors;

        var model = new Mlp(8, 32, 3, new Rng(1));
        model.Lora.Attach();
        Console.WriteLine(model.Lora.Summary());
        var opt = new AdamW(model.Lora.Parameters(), lr: 1e-2f);
        var x = Tensor.Randn(new Rng(2), 1f, 16, 8);
        var y = Enumerable.Range(0, 16).Select(i => i % 3).ToArray();
        float first = 0, last = 0;
        for (int step = 0; step < 40; step++)
        {
            opt.ZeroGrad();
            var loss = model.Forward(x).CrossEntropy(y);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Console.WriteLine(FormattableString.Invariant($"loss {first:F4} -> {last:F4}"));

        var dir = Path.Combine(args[0], "adapter");
        model.Lora.Save(dir);
        var configPath = Path.Combine(dir, "adapter_config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config.Remove("lora_alpha");
        File.WriteAllText(configPath, config.ToJsonString());

        var fresh = new Mlp(8, 32, 3, new Rng(1));
        fresh.Lora.Load(dir);
        foreach (var t in fresh.Lora.Targets())
            Console.WriteLine(FormattableString.Invariant($"loaded {t.Path}: r {t.Config.Rank}, alpha {t.Config.Alpha}"));

        [LoraModel]
        public sealed partial class Mlp : Module
        {
            [Lora(Rank = 4, Alpha = 16)] readonly Linear fc1;
            readonly Linear fc2;
        #if BROKEN
            readonly Head head;
        #endif
            public Mlp(int inputs, int hidden, int outputs, Rng rng)
            {
                fc1 = new Linear(inputs, hidden, rng: rng);
                fc2 = new Linear(hidden, outputs, rng: rng);
        #if BROKEN
                head = new Head(outputs, rng);
        #endif
            }
            public Tensor Forward(Tensor x) => fc2.Forward(fc1.Forward(x).Relu());
        }

        #if BROKEN
        public sealed class Head : Module
        {
            readonly Linear proj;
            public Head(int size, Rng rng) => proj = new Linear(size, size, rng: rng);
        }
        #endif
        """;

    public ConsumerProject()
    {
        Package = new PackedPackage();
        Dir = Package.WriteConsumer("consumer", "Consumer", $"""    <PackageReference Include="LoraGen" Version="{Package.Version}" />""", Program);

        (BuildCode, BuildOutput) = PackedPackage.Dotnet(Dir, TimeSpan.FromMinutes(3), "build", "-nodeReuse:false");
        if (BuildCode == 0)
            (RunCode, RunOutput) = PackedPackage.Dotnet(Dir, TimeSpan.FromMinutes(1), "run", "--no-build", "--", Package.Root);
        (BrokenCode, BrokenOutput) = PackedPackage.Dotnet(Dir, TimeSpan.FromMinutes(2), "build", "--no-restore", "-nodeReuse:false", "-p:DefineConstants=BROKEN");
    }

    public PackedPackage Package { get; }
    public string Dir { get; }
    public int BuildCode { get; }
    public string BuildOutput { get; }
    public int RunCode { get; } = -1;
    public string RunOutput { get; } = "";
    public int BrokenCode { get; }
    public string BrokenOutput { get; }

    public void Dispose() => Package.Dispose();
}
