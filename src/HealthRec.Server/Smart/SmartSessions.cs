namespace HealthRec.Server.Smart;

/// <summary>
/// A signed-in SMART session: one launch, its patient (and encounter), the clinician the EHR's identity token named, the
/// tokens it was given and how the client authenticates at the token endpoint. <see cref="LaunchKey"/> is the launch's
/// public name (in the app's URL); the session itself is found only with the secret id its cookie holds. Printed (logs,
/// exceptions) without the tokens.
/// </summary>
internal sealed record SmartSession(string Issuer, string Patient, string ClientId, string TokenEndpoint, string AccessToken, string? RefreshToken,
    DateTimeOffset TokenExpiresAt, DateTimeOffset EndsAt, bool NeedPatientBanner, string Scope, string? AppContext = null)
{
    public string LaunchKey { get; init; } = "";

    /// <summary>The signed-in user as the EHR's id_token names them (<c>fhirUser</c>, e.g. <c>Practitioner/123</c>), when it gave one.</summary>
    public string? FhirUser { get; init; }

    public string? Encounter { get; init; }

    /// <summary>client_secret_basic or client_secret_post: what the token endpoint accepted at sign-in, used again for refreshes.</summary>
    public string? AuthMethod { get; init; }

    /// <summary>The EHR's style (smart_style_url), reduced to values checked safe to put in a stylesheet.</summary>
    public SmartStyle? Style { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Issuer = ").Append(Issuer).Append(", Patient = ").Append(Patient).Append(", LaunchKey = ").Append(LaunchKey).Append(", Scope = ").Append(Scope)
            .Append(", TokenExpiresAt = ").Append(TokenExpiresAt.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
        return true;
    }
}

/// <summary>
/// Sessions of the SMART app, on the server, one per launch: the app's URL names the launch (<c>/smart/app/{launch}</c>)
/// and the browser holds that launch's random session id in an HttpOnly cookie of its own (named after the launch,
/// sent only to that launch's path), so two launches in two tabs or frames of one browser never share a session — a
/// page always shows the patient its own launch was for. The session (with its tokens) is encrypted with ASP.NET Core
/// Data Protection before it is stored in the HealthRec database, where every node finds it (the key ring is there too:
/// <see cref="DatabaseKeyRing"/>).
/// </summary>
internal sealed partial class SmartSessions(SmartSessionStore store, IDataProtectionProvider protection, TimeProvider time)
{
    /// <summary>The cookie a launch's session id travels in: one per launch.</summary>
    public static string CookieName(string launchKey) => $"healthrec.smart.s.{launchKey}";

    /// <summary>A launch key as the app's URLs carry it (128 random bits, base64url).</summary>
    public static bool IsLaunchKey(string? key) => key is not null && LaunchKeyPattern().IsMatch(key);

    public static string NewLaunchKey() => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{22}$")]
    private static partial System.Text.RegularExpressions.Regex LaunchKeyPattern();

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
