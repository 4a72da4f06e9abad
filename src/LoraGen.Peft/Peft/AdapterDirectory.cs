using System.Security.Cryptography;
using System.Text.RegularExpressions;
using LoraGen.Contract;
using LoraGen.IO;
using LoraGen.SafeTensors;

namespace LoraGen.Peft;

/// <summary>
/// A PEFT adapter directory (<c>adapter_model.safetensors</c> + <c>adapter_config.json</c>) saved and loaded as one
/// unit: a process killed at any moment of <see cref="Save"/> leaves a directory that loads as the complete old
/// adapter or the complete new one, never the weights of one with the config of the other.
/// <para>
/// How. The weights file's safetensors <c>__metadata__</c> records <c>loragen.config_sha256</c>, the SHA-256 (hex)
/// of the exact bytes of the config saved with it. <see cref="Save"/>: (a) finishes or cleans up what an
/// interrupted save left (below); (b) writes <c>adapter_config.json.TAG.loragen-tmp</c> and
/// <c>adapter_model.safetensors.TAG.loragen-tmp</c> in full and fsyncs them and the directory; (c) renames the
/// weights temporary over <c>adapter_model.safetensors</c> — the commit point — and fsyncs the directory;
/// (d) renames the config temporary over <c>adapter_config.json</c> and fsyncs the directory.
/// </para>
/// <para>
/// <see cref="Open"/> reads the final weights; when their recorded hash differs from the hash of the final config
/// (a kill between c and d), it uses the config temporary whose bytes have that hash. A pair it cannot match
/// throws <see cref="AdapterDirectoryException"/>; files written by PEFT (no hash) load as they are; a directory
/// with neither file throws <see cref="NoAdapterException"/>. Opening never writes. The next <see cref="Save"/>
/// first renames such a matching config temporary into place, then deletes stale temporaries of this naming
/// pattern only (<c>adapter_config.json.</c>/<c>adapter_model.safetensors.</c> + 32 hex digits +
/// <c>.loragen-tmp</c>), never any other file.
/// </para>
/// One writer at a time per directory (a second concurrent save may delete the first one's temporaries); readers
/// may open while a save runs. On Windows, dispose <see cref="AdapterFiles"/> before saving over them.
/// </summary>
public static class AdapterDirectory
{
    /// <summary>The weights' <c>__metadata__</c> key holding the SHA-256 (lowercase hex) of the config bytes saved with them.</summary>
    public const string ConfigHashKey = "loragen.config_sha256";

    /// <summary>The suffix of the temporaries a save writes: <c>FILE.TAG.loragen-tmp</c>, TAG being 32 hex digits.</summary>
    public const string TempSuffix = ".loragen-tmp";

    private static readonly Regex s_temp = new(
        @"\A(?:" + Regex.Escape(AdapterKeys.ConfigFile) + "|" + Regex.Escape(AdapterKeys.WeightsFile) + @")\.[0-9a-f]{32}" + Regex.Escape(TempSuffix) + @"\z",
        RegexOptions.CultureInvariant);

    /// <summary>Whether <paramref name="directory"/> holds an adapter (or a partial one that <see cref="Open"/> would report), i.e. <see cref="Open"/> would not throw <see cref="NoAdapterException"/>.</summary>
    public static bool Exists(string directory) =>
        File.Exists(Path.Combine(directory, AdapterKeys.WeightsFile)) || File.Exists(Path.Combine(directory, AdapterKeys.ConfigFile));

    /// <summary>The value <see cref="ConfigHashKey"/> records for config bytes <paramref name="configBytes"/>.</summary>
    public static string ConfigHash(ReadOnlySpan<byte> configBytes) => Convert.ToHexStringLower(SHA256.HashData(configBytes));

    /// <summary>Whether <paramref name="fileName"/> is a temporary of this class's naming pattern (the only files a save deletes).</summary>
    public static bool IsTemporary(string fileName) => s_temp.IsMatch(fileName);

    /// <summary>
    /// Saves <paramref name="config"/> and <paramref name="tensors"/> to <paramref name="directory"/> (created if
    /// needed) as one unit, replacing the adapter there. <paramref name="metadata"/> goes into the weights'
    /// <c>__metadata__</c> along with <c>"format": "pt"</c> and <see cref="ConfigHashKey"/>. The config is checked
    /// (<see cref="AdapterConfigException"/>) before anything is written. A location that cannot hold the adapter (a
    /// file where the directory should be, a directory where a file should be, a read-only folder) throws
    /// <see cref="AdapterDirectoryException"/> naming the target path, with the file system's error as inner exception.
    /// </summary>
    public static void Save(string directory, AdapterConfig config, IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        SaveBytes(directory, config.ToUtf8Bytes(), tensors, metadata);
    }

    /// <summary>
    /// <see cref="Save"/> for a VeRA or NoLA adapter: the same atomic unit, with a <see cref="BasisAdapterConfig"/>.
    /// </summary>
    public static void SaveBasis(string directory, BasisAdapterConfig config, IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        SaveBytes(directory, config.ToUtf8Bytes(), tensors, metadata);
    }

    private static void SaveBytes(string directory, byte[] configBytes, IReadOnlyList<SafetensorsEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [ConfigFields.FormatMetadataKey] = ConfigFields.FormatMetadataValue };
        if (metadata is not null)
            foreach (var (k, v) in metadata) meta[k] = v;
        meta[ConfigHashKey] = ConfigHash(configBytes);

        var dir = Path.GetFullPath(directory);
        try
        {
            SaveUnit(dir, configBytes, tensors, meta);
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not AdapterDirectoryException)
        {
            // The file system's message names the temporary it was writing; the user needs the place they asked for.
            throw new AdapterDirectoryException(dir, $"cannot save the adapter here: {WhyNotWritable(dir, e)}", e);
        }
    }

    /// <summary>Why <paramref name="dir"/> refused a save, naming the target path (never a temporary file).</summary>
    private static string WhyNotWritable(string dir, Exception e)
    {
        for (var p = dir; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
            if (File.Exists(p)) return p == dir ? "it is a file, not a directory." : $"{p} is a file, not a directory.";
        foreach (var name in new[] { AdapterKeys.WeightsFile, AdapterKeys.ConfigFile })
            if (Directory.Exists(Path.Combine(dir, name))) return $"{Path.Combine(dir, name)} is occupied by a directory.";
        return e is UnauthorizedAccessException ? "access is denied (read-only location?)." : "the file system refused the write (read-only or full?).";
    }

    private static void SaveUnit(string dir, byte[] configBytes, IReadOnlyList<SafetensorsEntry> tensors, Dictionary<string, string> meta)
    {
        Directory.CreateDirectory(dir);
        Recover(dir);

        string tag = Guid.NewGuid().ToString("N");
        string configTmp = Path.Combine(dir, AdapterKeys.ConfigFile + "." + tag + TempSuffix);
        string weightsTmp = Path.Combine(dir, AdapterKeys.WeightsFile + "." + tag + TempSuffix);
        try
        {
            WriteDurably(configTmp, s => s.Write(configBytes));
            WriteDurably(weightsTmp, s => SafetensorsWriter.Write(s, tensors, meta));
            DirectorySync.Flush(dir);                        // the temporaries exist before anything refers to them
            File.Move(weightsTmp, Path.Combine(dir, AdapterKeys.WeightsFile), overwrite: true);   // the commit point
        }
        catch
        {
            TryDelete(configTmp);
            TryDelete(weightsTmp);
            throw;
        }
        DirectorySync.Flush(dir);                            // the commit is durable before the config moves
        // From here on the new adapter is the one in the directory: if this rename fails or never happens, Open
        // reads the config temporary and the next Save puts it in place.
        File.Move(configTmp, Path.Combine(dir, AdapterKeys.ConfigFile), overwrite: true);
        DirectorySync.Flush(dir);
    }

    /// <summary>
    /// Opens the adapter in <paramref name="directory"/> without writing anything. Throws
    /// <see cref="NoAdapterException"/> when there is none, <see cref="AdapterDirectoryException"/> when a file is
    /// missing or the config does not belong to the weights, <see cref="AdapterConfigException"/> or
    /// <see cref="SafetensorsException"/> when a file is invalid. A config changed after the save (by hand, as PEFT
    /// users do with <c>base_model_name_or_path</c>, or by another tool) is used as it is when no interrupted save
    /// explains the mismatch; with <paramref name="acceptEditedConfig"/> false such a config fails the hash check.
    /// </summary>
    public static AdapterFiles Open(string directory, bool acceptEditedConfig = true)
    {
        var (dir, config, weights, path, interrupted) = OpenWith(directory, acceptEditedConfig, (b, p) => AdapterConfig.Parse(b, p));
        return new AdapterFiles(dir, config, weights, path, interrupted);
    }

    /// <summary>
    /// <see cref="Open"/> for a VeRA or NoLA adapter (<c>peft_type</c> "VERA" or "NOLA"): the same recovery and
    /// pairing rules, the config read as a <see cref="BasisAdapterConfig"/>. Dispose the result to unmap the weights.
    /// </summary>
    public static (BasisAdapterConfig Config, SafetensorsFile Weights) OpenBasis(string directory)
    {
        var (_, config, weights, _, _) = OpenWith(directory, true, (b, p) => BasisAdapterConfig.Parse(b, p));
        return (config, weights);
    }

    private static (string Dir, T Config, SafetensorsFile Weights, string ConfigPath, bool Interrupted) OpenWith<T>(string directory, bool acceptEditedConfig, Func<byte[], string, T> parse)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var dir = Path.GetFullPath(directory);
        string weightsPath = Path.Combine(dir, AdapterKeys.WeightsFile), configPath = Path.Combine(dir, AdapterKeys.ConfigFile);
        for (int attempt = 0; ; attempt++)
        {
            bool last = attempt == 3;
            if (!File.Exists(weightsPath))
            {
                if (!File.Exists(configPath)) throw new NoAdapterException(dir);
                if (!last)
                {
                    Thread.Sleep(attempt * 5);
                    continue;
                }
                // A config that is itself wrong (another peft_type, a bad field) is the more useful error: PEFT reads the
                // config first too.
                parse(AdapterConfig.ReadFile(configPath), configPath);
                string bin = File.Exists(Path.Combine(dir, PeftKeys.PickleWeightsFile)) ? $" ({PeftKeys.PickleWeightsFile}, PyTorch's pickle format, is not read: convert it to safetensors)" : "";
                throw new AdapterDirectoryException(dir, $"has {AdapterKeys.ConfigFile} but no {AdapterKeys.WeightsFile}{bin}.");
            }
            SafetensorsFile weights;
            try { weights = SafetensorsFile.Open(weightsPath); }
            catch (FileNotFoundException) when (!last) { continue; }
            try
            {
                var files = Pair(dir, weights, configPath, last, acceptEditedConfig, parse);
                if (files is not null) return files.Value;
            }
            catch
            {
                weights.Dispose();
                throw;
            }
            weights.Dispose();
            Thread.Sleep(attempt * 5);   // a save may have moved the files between our two reads: look again
        }
    }

    /// <summary>The config that belongs to <paramref name="weights"/>, or null to look again (throws on the last attempt).</summary>
    private static (string, T, SafetensorsFile, string, bool)? Pair<T>(string dir, SafetensorsFile weights, string configPath, bool last, bool acceptEditedConfig, Func<byte[], string, T> parse)
    {
        byte[]? configBytes = TryRead(configPath, strict: true);
        if (!weights.Metadata.TryGetValue(ConfigHashKey, out var expected))
        {
            // Written by PEFT or another tool: nothing to check.
            if (configBytes is not null) return (dir, parse(configBytes, configPath), weights, configPath, false);
            if (!last) return null;
            throw new AdapterDirectoryException(dir, $"has {AdapterKeys.WeightsFile} but no {AdapterKeys.ConfigFile}.");
        }
        if (configBytes is not null && ConfigHash(configBytes) == expected)
            return (dir, parse(configBytes, configPath), weights, configPath, false);
        foreach (var tmp in Temporaries(dir, AdapterKeys.ConfigFile))
        {
            var bytes = TryRead(tmp);
            if (bytes is not null && ConfigHash(bytes) == expected)
                return (dir, parse(bytes, tmp), weights, tmp, true);
        }
        if (!last) return null;
        if (acceptEditedConfig && configBytes is not null)
            return (dir, parse(configBytes, configPath), weights, configPath, false);
        throw new AdapterDirectoryException(dir, configBytes is null
            ? $"has {AdapterKeys.WeightsFile} but no {AdapterKeys.ConfigFile}, and no temporary of an interrupted save holds its config."
            : $"{AdapterKeys.ConfigFile} does not belong to {AdapterKeys.WeightsFile}: the weights were saved with a config of SHA-256 " +
              $"{expected}, and neither {AdapterKeys.ConfigFile} nor a temporary of an interrupted save has it. The config was edited or " +
              "replaced after the save; save the adapter again, or open it accepting the edited config.");
    }

    /// <summary>Finishes a save interrupted between its renames, then deletes stale temporaries of ours.</summary>
    private static void Recover(string dir)
    {
        string weightsPath = Path.Combine(dir, AdapterKeys.WeightsFile), configPath = Path.Combine(dir, AdapterKeys.ConfigFile);
        if (File.Exists(weightsPath))
        {
            string? expected = null;
            try
            {
                using var weights = SafetensorsFile.Open(weightsPath);
                weights.Metadata.TryGetValue(ConfigHashKey, out expected);
            }
            catch (SafetensorsException)
            {
                // Not a valid file (not written by us): this save replaces it.
            }
            var configBytes = TryRead(configPath);
            if (expected is not null && (configBytes is null || ConfigHash(configBytes) != expected))
            {
                foreach (var tmp in Temporaries(dir, AdapterKeys.ConfigFile))
                {
                    var bytes = TryRead(tmp);
                    if (bytes is null || ConfigHash(bytes) != expected) continue;
                    File.Move(tmp, configPath, overwrite: true);
                    DirectorySync.Flush(dir);
                    break;
                }
            }
        }
        foreach (var tmp in Temporaries(dir, AdapterKeys.ConfigFile).Concat(Temporaries(dir, AdapterKeys.WeightsFile)))
            TryDelete(tmp);
    }

    private static IEnumerable<string> Temporaries(string dir, string fileName) =>
        Directory.EnumerateFiles(dir, fileName + ".*" + TempSuffix).Where(p => IsTemporary(Path.GetFileName(p))).ToList();

    private static void WriteDurably(string path, Action<Stream> write)
    {
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        write(fs);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>
    /// A config file's bytes, or null when it is missing. A file that is not a regular config file (empty, a pipe, a
    /// device, too large) is null too — a temporary a kill left empty simply matches nothing — unless
    /// <paramref name="strict"/>, which throws its <see cref="AdapterConfigException"/>.
    /// </summary>
    private static byte[]? TryRead(string path, bool strict = false)
    {
        try { return AdapterConfig.ReadFile(path); }
        catch (AdapterConfigException) when (!strict) { return null; }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
