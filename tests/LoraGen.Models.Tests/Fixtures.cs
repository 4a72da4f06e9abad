using System.Text.Json;
using LoraGen.SafeTensors;

namespace LoraGen.Models.Tests;

/// <summary>The committed fixtures of tools/make_hf_fixtures.py and their reference logits.</summary>
internal static class Fixtures
{
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf");

    public static string Dir(string name) => Path.Combine(Root, name);

    /// <summary>The prompts (token ids) the references were computed for.</summary>
    public static int[][] Prompts(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "reference.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
    }

    /// <summary>Reference logits [T, vocab] of prompt <paramref name="index"/> (kind "logits" or "logits_lora").</summary>
    public static float[] Logits(string name, int index, string kind = "logits")
    {
        using var f = SafetensorsFile.Open(Path.Combine(Dir(name), "reference.safetensors"));
        return f.ReadFloats($"{kind}.{index}");
    }

    /// <summary>A fresh copy of a fixture directory under a temp folder, to damage.</summary>
    public static string Copy(string name)
    {
        string dst = Path.Combine(Path.GetTempPath(), "loragen-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.EnumerateFiles(Dir(name))) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        return dst;
    }

    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths {a.Length} and {b.Length}");
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
