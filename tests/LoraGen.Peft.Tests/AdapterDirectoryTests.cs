using LoraGen.SafeTensors;
using Xunit;

namespace LoraGen.Peft.Tests;

/// <summary>
/// Adapter directories saved as one unit: every state a kill can leave loads as the old or the new adapter, the
/// next save finishes an interrupted one, and only our own temporaries are ever deleted.
/// </summary>
public class AdapterDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("loragen-dir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string NewDir(string name) => Path.Combine(_root, name);

    /// <summary>A two-layer adapter of rank <paramref name="r"/> whose B is filled with <paramref name="r"/>.</summary>
    internal static (AdapterConfig Config, List<SafetensorsEntry> Tensors) Adapter(int r, string id = "test")
    {
        var config = new AdapterConfig { R = r, LoraAlpha = 2 * r, TargetModules = new[] { "q_proj" }, BaseModelNameOrPath = id };
        var tensors = new List<SafetensorsEntry>();
        for (int layer = 0; layer < 2; layer++)
        {
            string path = $"model.layers.{layer}.self_attn.q_proj";
            var b = new float[8 * r];
            b.AsSpan().Fill(r);
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.A(path, LayerKind.Linear), [r, 6], Enumerable.Range(0, 6 * r).Select(i => (float)i).ToArray()));
            tensors.Add(SafetensorsEntry.FromFloats(AdapterKeys.B(path, LayerKind.Linear), [8, r], b));
        }
        return (config, tensors);
    }

    private static void Save(string dir, int r, string id = "test")
    {
        var (config, tensors) = Adapter(r, id);
        AdapterDirectory.Save(dir, config, tensors);
    }

    private static string[] Names(string dir) => Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static string Temp(string dir, string file, char fill = 'a') => Path.Combine(dir, file + "." + new string(fill, 32) + AdapterDirectory.TempSuffix);

    /// <summary>The checks the kill test makes: config r = every tensor's rank, and the ids agree.</summary>
    internal static void AssertConsistent(AdapterFiles files)
    {
        int r = files.Config.R;
        Assert.NotEmpty(files.Weights.Tensors);
        foreach (var t in files.Weights.Tensors)
        {
            bool isA = t.Name.EndsWith(AdapterKeys.A("x", LayerKind.Linear)[(AdapterKeys.Prefix.Length + 1)..], StringComparison.Ordinal);
            Assert.Equal(r, isA ? t.Shape[0] : t.Shape[1]);
            if (!isA) Assert.All(files.Weights.ReadFloats(t.Name), v => Assert.Equal(r, v));
        }
        Assert.Equal(2.0 * r, files.Config.LoraAlpha);
    }

    [Fact]
    public void SaveUnderARegularFileNamesTheTarget()
    {
        var file = NewDir("occupied.txt");
        File.WriteAllText(file, "not a folder");
        var target = Path.Combine(file, "adapter");
        var e = Assert.Throws<AdapterDirectoryException>(() => Save(target, 4));
        Assert.Equal(target, e.Directory);
        Assert.StartsWith(target + ": cannot save the adapter here: " + file + " is a file", e.Message);
        Assert.DoesNotContain(AdapterDirectory.TempSuffix, e.Message);
        Assert.Equal("not a folder", File.ReadAllText(file));
    }

    [Fact]
    public void SaveOntoARegularFileNamesTheTarget()
    {
        var file = NewDir("adapter-file");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<AdapterDirectoryException>(() => Save(file, 4));
        Assert.Equal(file + ": cannot save the adapter here: it is a file, not a directory.", e.Message);
    }

    [Fact]
    public void SaveWhereTheWeightsFileIsADirectoryNamesTheTargetNotTheTemporary()
    {
        var dir = NewDir("weights-occupied");
        Directory.CreateDirectory(Path.Combine(dir, AdapterKeys.WeightsFile, "inside"));
        var e = Assert.Throws<AdapterDirectoryException>(() => Save(dir, 4));
        Assert.Equal(dir + ": cannot save the adapter here: " + Path.Combine(dir, AdapterKeys.WeightsFile) + " is occupied by a directory.", e.Message);
        Assert.DoesNotContain(AdapterDirectory.TempSuffix, e.Message);
        Assert.DoesNotContain(Directory.GetFiles(dir), f => AdapterDirectory.IsTemporary(Path.GetFileName(f)));
    }

    [Fact]
    public void SavedAdapterOpensAsSaved()
    {
        var dir = NewDir("a");
        var (config, tensors) = Adapter(4);
        AdapterDirectory.Save(dir, config, tensors, new Dictionary<string, string> { ["note"] = "hello" });
        Assert.Equal([AdapterKeys.ConfigFile, AdapterKeys.WeightsFile], Names(dir));
        Assert.True(AdapterDirectory.Exists(dir));
        using var files = AdapterDirectory.Open(dir);
        Assert.Equal(config, files.Config);
        Assert.False(files.FromInterruptedSave);
        Assert.Equal(Path.Combine(dir, AdapterKeys.ConfigFile), files.ConfigPath);
        Assert.Equal("pt", files.Weights.Metadata[Contract.ConfigFields.FormatMetadataKey]);
        Assert.Equal("hello", files.Weights.Metadata["note"]);
        Assert.Equal(AdapterDirectory.ConfigHash(File.ReadAllBytes(files.ConfigPath)), files.Weights.Metadata[AdapterDirectory.ConfigHashKey]);
        Assert.Equal(config.ToJson(), File.ReadAllText(files.ConfigPath));
        foreach (var t in tensors)
            Assert.Equal(t.Floats.ToArray(), files.Weights.ReadFloats(t.Name));
        AssertConsistent(files);
    }

    [Fact]
    public void NoAdapterYet()
    {
        var missing = NewDir("missing");
        Assert.False(AdapterDirectory.Exists(missing));
        var ex = Assert.Throws<NoAdapterException>(() => AdapterDirectory.Open(missing));
        Assert.Contains("no adapter yet", ex.Message);
        var empty = Directory.CreateDirectory(NewDir("empty")).FullName;
        Assert.Throws<NoAdapterException>(() => AdapterDirectory.Open(empty));
        // Temporaries of a save killed before its commit do not make an adapter.
        File.WriteAllText(Temp(empty, AdapterKeys.ConfigFile), "{}");
        File.WriteAllBytes(Temp(empty, AdapterKeys.WeightsFile), [1, 2, 3]);
        Assert.Throws<NoAdapterException>(() => AdapterDirectory.Open(empty));
        Assert.False(AdapterDirectory.Exists(empty));
    }

    [Fact]
    public void AKillBeforeTheCommitLeavesTheOldAdapter()
    {
        var dir = NewDir("before");
        Save(dir, 4, "old");
        // What the new save had written when it died: both temporaries, complete or not.
        var other = NewDir("other");
        Save(other, 16, "new");
        File.Copy(Path.Combine(other, AdapterKeys.ConfigFile), Temp(dir, AdapterKeys.ConfigFile));
        File.WriteAllBytes(Temp(dir, AdapterKeys.WeightsFile), File.ReadAllBytes(Path.Combine(other, AdapterKeys.WeightsFile))[..100]);
        using (var files = AdapterDirectory.Open(dir))
        {
            Assert.Equal(4, files.Config.R);
            Assert.Equal("old", files.Config.BaseModelNameOrPath);
            Assert.False(files.FromInterruptedSave);
            AssertConsistent(files);
        }
        Save(dir, 16, "next");
        Assert.Equal([AdapterKeys.ConfigFile, AdapterKeys.WeightsFile], Names(dir));
        using var next = AdapterDirectory.Open(dir);
        Assert.Equal("next", next.Config.BaseModelNameOrPath);
    }

    [Fact]
    public void AKillBetweenTheRenamesLeavesTheNewAdapterAndTheNextSaveFinishesIt()
    {
        var dir = NewDir("between");
        Save(dir, 4, "old");
        var other = NewDir("other");
        Save(other, 16, "new");
        // The weights are in place, the config is still the temporary.
        File.Copy(Path.Combine(other, AdapterKeys.WeightsFile), Path.Combine(dir, AdapterKeys.WeightsFile), overwrite: true);
        var configTmp = Temp(dir, AdapterKeys.ConfigFile, 'b');
        File.Copy(Path.Combine(other, AdapterKeys.ConfigFile), configTmp);
        File.WriteAllText(Temp(dir, AdapterKeys.ConfigFile, 'c'), "{\"stale\": true}");   // an older leftover
        var before = Names(dir);
        using (var files = AdapterDirectory.Open(dir))
        {
            Assert.Equal(16, files.Config.R);
            Assert.Equal("new", files.Config.BaseModelNameOrPath);
            Assert.True(files.FromInterruptedSave);
            Assert.Equal(configTmp, files.ConfigPath);
            AssertConsistent(files);
        }
        Assert.Equal(before, Names(dir));   // opening writes nothing

        // A save that fails after its start has still finished the interrupted one and cleaned up.
        var (config, _) = Adapter(8);
        var bad = new[] { SafetensorsEntry.FromFloats("w", [1L], new float[1]), SafetensorsEntry.FromFloats("w", [1L], new float[1]) };
        Assert.Throws<ArgumentException>(() => AdapterDirectory.Save(dir, config, bad));
        Assert.Equal([AdapterKeys.ConfigFile, AdapterKeys.WeightsFile], Names(dir));
        Assert.Equal(File.ReadAllBytes(Path.Combine(other, AdapterKeys.ConfigFile)), File.ReadAllBytes(Path.Combine(dir, AdapterKeys.ConfigFile)));
        using var done = AdapterDirectory.Open(dir);
        Assert.False(done.FromInterruptedSave);
        Assert.Equal("new", done.Config.BaseModelNameOrPath);
    }

    [Fact]
    public void AnEditedConfigIsUsedUnlessTheCallerInsistsOnTheSavedOne()
    {
        var dir = NewDir("edited");
        Save(dir, 4);
        var configPath = Path.Combine(dir, AdapterKeys.ConfigFile);
        var edited = AdapterConfig.Load(configPath) with { BaseModelNameOrPath = "elsewhere" };
        File.WriteAllText(configPath, edited.ToJson());
        var ex = Assert.Throws<AdapterDirectoryException>(() => AdapterDirectory.Open(dir, acceptEditedConfig: false));
        Assert.IsNotType<NoAdapterException>(ex);
        Assert.Contains("does not belong", ex.Message);
        Assert.Equal(Path.GetFullPath(dir), ex.Directory);
        using var accepted = AdapterDirectory.Open(dir);   // the default: PEFT users edit base_model_name_or_path by hand
        Assert.Equal("elsewhere", accepted.Config.BaseModelNameOrPath);
        // The next save replaces both.
        Save(dir, 16);
        using var saved = AdapterDirectory.Open(dir);
        Assert.Equal(16, saved.Config.R);
    }

    [Fact]
    public void AnAdapterWrittenByPeftLoadsAsItIs()
    {
        var dir = Directory.CreateDirectory(NewDir("peft")).FullName;
        var (_, tensors) = Adapter(8);
        SafetensorsWriter.Save(Path.Combine(dir, AdapterKeys.WeightsFile), tensors,
            new Dictionary<string, string> { [Contract.ConfigFields.FormatMetadataKey] = Contract.ConfigFields.FormatMetadataValue });
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "peft020_llama.json"), Path.Combine(dir, AdapterKeys.ConfigFile));
        using var files = AdapterDirectory.Open(dir);
        Assert.Equal(8, files.Config.R);
        Assert.Equal(16, files.Config.LoraAlpha);
        Assert.Equal(4, files.Weights.Tensors.Count);
    }

    [Fact]
    public void AHalfAdapterIsAnError()
    {
        var dir = NewDir("half");
        Save(dir, 4);
        File.Delete(Path.Combine(dir, AdapterKeys.ConfigFile));
        var ex = Assert.Throws<AdapterDirectoryException>(() => AdapterDirectory.Open(dir, acceptEditedConfig: false));
        Assert.IsNotType<NoAdapterException>(ex);
        Save(dir, 4);
        File.Delete(Path.Combine(dir, AdapterKeys.WeightsFile));
        File.WriteAllBytes(Path.Combine(dir, Contract.PeftKeys.PickleWeightsFile), [0]);
        ex = Assert.Throws<AdapterDirectoryException>(() => AdapterDirectory.Open(dir));
        Assert.Contains(Contract.PeftKeys.PickleWeightsFile, ex.Message);
        Assert.True(AdapterDirectory.Exists(dir));
    }

    [Fact]
    public void ASaveDeletesOnlyItsOwnTemporaries()
    {
        var dir = Directory.CreateDirectory(NewDir("others")).FullName;
        string[] keep =
        [
            "notes.txt",
            AdapterKeys.ConfigFile + ".bak",
            AdapterKeys.WeightsFile + ".abc" + AdapterDirectory.TempSuffix,                    // not 32 hex digits
            AdapterKeys.WeightsFile + "." + new string('A', 32) + AdapterDirectory.TempSuffix,  // upper case: not ours
            "x." + new string('a', 32) + AdapterDirectory.TempSuffix,
            "." + AdapterKeys.WeightsFile + ".0123.tmp",
        ];
        foreach (var name in keep) File.WriteAllText(Path.Combine(dir, name), "keep me");
        File.WriteAllText(Temp(dir, AdapterKeys.WeightsFile, '0'), "stale");
        File.WriteAllText(Temp(dir, AdapterKeys.ConfigFile, 'f'), "stale");
        Save(dir, 4);
        Assert.Equal(keep.Append(AdapterKeys.ConfigFile).Append(AdapterKeys.WeightsFile).Order(StringComparer.Ordinal), Names(dir));
        Assert.True(AdapterDirectory.IsTemporary(Path.GetFileName(Temp(dir, AdapterKeys.ConfigFile, '9'))));
        Assert.All(keep, name => Assert.False(AdapterDirectory.IsTemporary(name)));
    }

    [Fact]
    public void AnInvalidConfigIsRefusedBeforeAnythingIsWritten()
    {
        var dir = NewDir("invalid");
        Save(dir, 4);
        var before = File.ReadAllBytes(Path.Combine(dir, AdapterKeys.WeightsFile));
        var (config, tensors) = Adapter(16);
        var ex = Assert.Throws<AdapterConfigException>(() => AdapterDirectory.Save(dir, config with { LoraDropout = 2 }, tensors));
        Assert.Equal(Contract.ConfigFields.LoraDropout, ex.Field);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, AdapterKeys.WeightsFile)));
        Assert.Equal([AdapterKeys.ConfigFile, AdapterKeys.WeightsFile], Names(dir));
    }

    [Fact]
    public void SavingOverAnOpenAdapterKeepsTheOpenOneReadable()
    {
        if (OperatingSystem.IsWindows()) return;   // Windows cannot rename over a mapped file: dispose first there
        var dir = NewDir("open");
        Save(dir, 4, "first");
        using var first = AdapterDirectory.Open(dir);
        Save(dir, 16, "second");
        AssertConsistent(first);                 // the mapping still shows the first save's bytes (Unix semantics)
        using var second = AdapterDirectory.Open(dir);
        Assert.Equal("second", second.Config.BaseModelNameOrPath);
        AssertConsistent(second);
    }
}
