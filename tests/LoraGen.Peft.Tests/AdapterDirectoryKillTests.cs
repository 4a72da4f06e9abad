using System.Diagnostics;
using LoraGen.Peft.SaveLoop;
using Xunit;
using Xunit.Abstractions;

namespace LoraGen.Peft.Tests;

/// <summary>
/// The kill test: a child process (LoraGen.Peft.SaveLoop) saves rank-4 and rank-16 adapters alternately into one
/// directory; it is killed (SIGKILL) at random moments, 200 times (at least 50 on a machine too loaded for 200 in the
/// budget), and after every kill the directory
/// must load as one complete adapter (config r = every tensor's rank, the same save's id in config and weights)
/// or, before the first save ever committed, fail with "no adapter yet".
/// </summary>
public class AdapterDirectoryKillTests(ITestOutputHelper output) : IDisposable
{
    private const int MinKills = 200;
    // What a machine too loaded to reach MinKills within the budget must still manage: every kill is checked the
    // same way, so fewer kills only sample fewer moments (a loaded machine once got 188 in 300 s).
    private const int FloorKills = 50;
    // About a minute on a quiet 2-core machine (~40 s); the cap only stops a machine so loaded that it cannot start
    // 200 processes in time, and then the test fails saying so.
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(300);   // ~1 min on a quiet 2-core machine; a child start costs 1 s+ when other builds share the cores

    private readonly string _root = Directory.CreateTempSubdirectory("loragen-kill-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task AKillAtAnyMomentLeavesTheOldOrTheNewAdapter()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "LoraGen.Peft.SaveLoop.dll");
        Assert.True(File.Exists(dll), dll);
        string dir = Path.Combine(_root, "adapter");
        var rng = new Random(20250611);
        var outcomes = new Dictionary<string, int>();
        var ranks = new Dictionary<int, int>();
        bool committed = false;
        string? lastId = null;
        int replaced = 0;
        int kills = 0, maxTemps = 0;
        var clock = Stopwatch.StartNew();
        // Where a kill lands: in save k of the child (k = 0..3, chosen at random; save 0 runs with the JIT and
        // takes ~150 ms here, later ones ~20 ms), at a uniformly random moment of that save's expected duration
        // (running averages of what the children took). So every phase of a save gets hit, the commit window
        // included, at about a quarter second per kill. The seed also picks whether a child starts with r 4 or 16.
        double firstSave = 150, laterSave = 25;
        var byPhase = new int[4];
        while (kills < MinKills && clock.Elapsed < Budget)
        {
            int seed = rng.Next(), k = rng.Next(0, 4);
            using var child = Start(dll, dir, seed);
            try
            {
                Assert.Equal("ready", await ReadLine(child));
                var last = clock.Elapsed;
                for (int i = 0; i < k; i++)
                {
                    Assert.Equal($"saved {i}", await ReadLine(child));
                    var now = clock.Elapsed;
                    double took = (now - last).TotalMilliseconds;
                    if (i == 0) firstSave = 0.8 * firstSave + 0.2 * took;
                    else laterSave = 0.8 * laterSave + 0.2 * took;
                    last = now;
                }
                Thread.Sleep(rng.Next(0, (int)(k == 0 ? firstSave : laterSave) + 1));   // wakes more punctually than a timer on a loaded machine
                byPhase[k]++;
            }
            finally
            {
                child.Kill();
                await child.WaitForExitAsync();
            }
            Assert.NotEqual(0, child.ExitCode);   // killed, not finished
            kills++;

            var names = Directory.Exists(dir) ? Directory.GetFiles(dir).Select(Path.GetFileName).ToList() : [];
            int temps = names.Count(n => AdapterDirectory.IsTemporary(n!));
            maxTemps = Math.Max(maxTemps, temps);
            Assert.True(temps <= 2, $"kill {kills}: {temps} temporaries left: {string.Join(", ", names)}");
            Assert.All(names, n => Assert.True(n == AdapterKeys.ConfigFile || n == AdapterKeys.WeightsFile || AdapterDirectory.IsTemporary(n!), n));

            string outcome;
            try
            {
                using var files = AdapterDirectory.Open(dir, acceptEditedConfig: false);
                AdapterDirectoryTests.AssertConsistent(files);
                Assert.Equal(files.Config.BaseModelNameOrPath, files.Weights.Metadata[SaveLoopIds.MetadataKey]);
                Assert.Equal(8, files.Weights.Tensors.Count);
                // The old adapter (what the previous kill left) or one this child saved.
                string id = files.Config.BaseModelNameOrPath!;
                if (id != lastId) Assert.StartsWith(seed.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/", id);
                if (id != lastId && lastId is not null) replaced++;
                lastId = id;
                ranks[files.Config.R] = ranks.GetValueOrDefault(files.Config.R) + 1;
                outcome = files.FromInterruptedSave ? "new adapter, config from the interrupted save's temporary" : "complete adapter";
                committed = true;
            }
            catch (NoAdapterException) when (!committed)
            {
                outcome = "no adapter yet";
            }
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        var elapsed = clock.Elapsed;

        // A normal save afterwards finishes whatever was interrupted and leaves no temporary of ours.
        var (config, tensors) = AdapterDirectoryTests.Adapter(8, "final");
        AdapterDirectory.Save(dir, config, tensors);
        Assert.Equal([AdapterKeys.ConfigFile, AdapterKeys.WeightsFile], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using (var files = AdapterDirectory.Open(dir, acceptEditedConfig: false))
        {
            Assert.Equal("final", files.Config.BaseModelNameOrPath);
            Assert.False(files.FromInterruptedSave);
        }

        output.WriteLine($"{kills} kills in {elapsed.TotalSeconds:F1} s; at most {maxTemps} temporaries after a kill; the adapter changed across {replaced} kills");
        output.WriteLine($"  kills in save 0..3 of a child: {string.Join(" / ", byPhase)}; save 0 took ~{firstSave:F0} ms, later ones ~{laterSave:F0} ms");
        foreach (var (o, n) in outcomes.OrderByDescending(p => p.Value)) output.WriteLine($"  {n,4}  {o}");
        foreach (var (r, n) in ranks.OrderBy(p => p.Key)) output.WriteLine($"  {n,4}  loaded with r = {r}");
        Assert.True(kills >= FloorKills, $"only {kills} kills in {Budget.TotalSeconds} s");
        Assert.True(committed, "no save ever committed");
    }

    private static async Task<string?> ReadLine(Process child) =>
        await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

    private static Process Start(string dll, string dir, int seed)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(dotnet) || !File.Exists(dotnet))
            dotnet = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(dir);
        psi.ArgumentList.Add(seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(psi)!;
    }
}
