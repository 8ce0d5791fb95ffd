using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;

namespace HealthRec.Server.Tests.Smart;

/// <summary>The Data Protection key ring in the database, encrypted at rest when a certificate is configured.</summary>
[Collection(SequentialServers.Name)]
public sealed class KeyRingTests() : TempFolderTests("healthrec-keys-")
{
    [Fact]
    public async Task GivenACertificate_WhenAKeyIsMade_ThenTheDatabaseHoldsItEncryptedAndWithoutOneInClear()
    {
        using var rsa = RSA.Create(2048);
        using var certificate = new CertificateRequest("CN=healthrec-test-data-protection", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var pfx = Path.Combine(Folder.FullName, "data-protection.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"), Ct);

        var encrypted = await KeysAsync(new() { ["DataProtection:CertificatePath"] = pfx, ["DataProtection:CertificatePassword"] = "test-password" });
        var clear = await KeysAsync([]);

        Assert.Contains("encryptedSecret", Assert.Single(encrypted), StringComparison.Ordinal);
        Assert.DoesNotContain("<value>", encrypted[0], StringComparison.Ordinal);
        Assert.Contains("<value>", Assert.Single(clear), StringComparison.Ordinal);
    }

    // A server's key ring after it protected (and read back) one value.
    private static async Task<IReadOnlyList<string>> KeysAsync(Dictionary<string, string?> settings)
    {
        await using var server = await RunningServer.StartAsync(settings, Ct);
        var protector = server.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test");
        Assert.Equal("a session", protector.Unprotect(protector.Protect("a session")));
        return server.Services.GetRequiredService<SmartSessionStore>().Keys();
    }
}
