namespace LoraGen.Benchmarks.TorchSharpPeer;

/// <summary>The peer's sizes: those of the samples' TinyGpt, plus the hand-written LoRA's rank (0: none) and alpha.</summary>
public sealed record PeerConfig(int Vocab = 96, int Dim = 256, int Layers = 4, int Heads = 4, int Context = 128, int Rank = 8, double Alpha = 16);
