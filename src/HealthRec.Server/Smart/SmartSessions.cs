using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HealthRec.Data;
using Microsoft.AspNetCore.DataProtection;

namespace HealthRec.Server.Smart;

/// <summary>
/// A signed-in SMART session: which EHR and patient, and the tokens it was given. Printed (logs, exceptions) without the
/// tokens.
/// </summary>
internal sealed record SmartSession(string Issuer, string Patient, string ClientId, string TokenEndpoint, string AccessToken, string? RefreshToken,
    DateTimeOffset TokenExpiresAt, DateTimeOffset EndsAt, bool NeedPatientBanner, string Scope, string? AppContext = null)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Issuer = ").Append(Issuer).Append(", Patient = ").Append(Patient).Append(", Scope = ").Append(Scope)
            .Append(", TokenExpiresAt = ").Append(TokenExpiresAt.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
        return true;
    }
}

/// <summary>
/// Sessions of the SMART app, on the server: the browser holds a random session id in an HttpOnly cookie and nothing
/// else; the session (with its tokens) is encrypted with ASP.NET Core Data Protection before it is stored in the HealthRec
/// database, where every node finds it (the key ring is there too: <see cref="DatabaseKeyRing"/>).
/// </summary>
internal sealed class SmartSessions(SmartSessionStore store, IDataProtectionProvider protection, TimeProvider time)
{
    public const string CookieName = "healthrec.smart.session";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly IDataProtector _protector = protection.CreateProtector("HealthRec.Smart.Session.v1");

    public async Task<string> CreateAsync(SmartSession session, CancellationToken cancellationToken)
    {
        var id = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        await store.PurgeAsync(time.GetUtcNow(), cancellationToken);
        await SaveAsync(id, session, cancellationToken);
        return id;
    }

    public Task SaveAsync(string id, SmartSession session, CancellationToken cancellationToken) =>
        store.SaveAsync(id, _protector.Protect(JsonSerializer.SerializeToUtf8Bytes(session, Json)), session.EndsAt, cancellationToken);

    /// <summary>The session, or null when there is none, it ended, or it cannot be decrypted (e.g. keys rotated away).</summary>
    public async Task<SmartSession?> FindAsync(string? id, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || await store.FindAsync(id, time.GetUtcNow(), cancellationToken) is not { } stored)
        {
            return null;
        }

        try
        {
            var session = JsonSerializer.Deserialize<SmartSession>(_protector.Unprotect(stored), Json);
            return session is not null && session.EndsAt > time.GetUtcNow() ? session : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public Task RemoveAsync(string id, CancellationToken cancellationToken) => store.RemoveAsync(id, cancellationToken);
}
