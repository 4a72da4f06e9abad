namespace TinyGpt.TorchSharp.Model;

/// <summary>The sizes of the model (those of samples/TinyGpt.Lora).</summary>
public sealed record GptConfig(int Vocab = 96, int Dim = 256, int Layers = 4, int Heads = 4, int Context = 128);
