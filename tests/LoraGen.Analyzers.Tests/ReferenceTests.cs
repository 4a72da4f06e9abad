using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using LoraGen.Analyzers.Tests.Verifiers;
using Microsoft.CodeAnalysis;
using Xunit;

namespace LoraGen.Analyzers.Tests;

/// <summary>The test compilations see real reference assemblies, found on this machine without NuGet.</summary>
public class ReferenceTests
{
    [Fact]
    public void FrameworkReferencesAreTheLocalTargetingPack()
    {
        Assert.NotEqual("runtime", TestReferences.FrameworkSource);
        Assert.True(TestReferences.NoPackage.ReferenceAssemblyPackage is null && TestReferences.NoPackage.Packages.IsEmpty, "nothing to download");
        var systemRuntime = TestReferences.Framework.OfType<PortableExecutableReference>()
            .Single(r => Path.GetFileName(r.FilePath) == "System.Runtime.dll").FilePath!;
        using var pe = new PEReader(File.OpenRead(systemRuntime));
        var md = pe.GetMetadataReader();
        // System.Runtime defines ReferenceAssemblyAttribute itself, so its constructor may be a definition or a reference.
        bool isReferenceAssembly = md.GetAssemblyDefinition().GetCustomAttributes()
            .Select(h => md.GetCustomAttribute(h).Constructor)
            .Select(c => c.Kind switch
            {
                HandleKind.MethodDefinition => md.GetString(md.GetTypeDefinition(md.GetMethodDefinition((MethodDefinitionHandle)c).GetDeclaringType()).Name),
                HandleKind.MemberReference when md.GetMemberReference((MemberReferenceHandle)c).Parent is { Kind: HandleKind.TypeReference } parent =>
                    md.GetString(md.GetTypeReference((TypeReferenceHandle)parent).Name),
                _ => "",
            })
            .Any(name => name == "ReferenceAssemblyAttribute");
        Assert.True(isReferenceAssembly, $"{systemRuntime} is not a reference assembly");
        Assert.Contains(TestReferences.LoraGen, r => r.Display?.EndsWith("LoraGen.Runtime.dll", StringComparison.Ordinal) == true);
    }
}
