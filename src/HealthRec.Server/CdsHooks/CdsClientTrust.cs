using System.Data.Common;

namespace HealthRec.Server.CdsHooks;

/// <summary>Who called, as far as the call's JWT says: ids that may be logged and stored (never the token).</summary>
internal sealed record CdsCaller(string? Issuer, string? Jti, string? Tenant)
{
    public static readonly CdsCaller Loopback = new(null, null, null);
}

/// <summary>
/// Trust in CDS clients (CDS Hooks 2.0, "Trusting CDS Clients", and the best practices): every call carries a JWT signed
/// with an asymmetric key (RS, PS or ES family; <c>none</c> and HMAC refused) by an allow-listed issuer. Its key is
/// found by <c>kid</c> in that client's configured JWK Set (inline, or at its JWKS URL), or at the header's <c>jku</c>
/// only when that URL is on the client's own allow-list — no other URL is ever fetched. <c>aud</c> must be the URL
/// being called, <c>exp</c>/<c>iat</c> hold within a small leeway and the lifetime is bounded, and <c>jti</c> must not
/// have been seen before (the replay store is the shared database, so a replay to another node is refused too). Any
/// failure is a bare 401; the reason goes to the log with iss, kid and jti only. With no client configured, only
/// loopback callers are served, without a JWT (the embedded default on a developer's machine).
/// </summary>
internal sealed partial class CdsClientTrust(IOptions<CdsHooksOptions> options, JwksCache jwks, TokenReplayStore replay, TimeProvider time,
    ILogger<CdsClientTrust> logger)
{
    private static readonly HashSet<string> AsymmetricAlgorithms = new(StringComparer.Ordinal)
    {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
    };

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    // Used only while the database cannot be reached: replays to this node are still refused.
    private readonly ConcurrentDictionary<(string Issuer, string Jti), DateTimeOffset> _fallbackReplay = new();

    public async Task<CdsCaller?> AuthenticateAsync(HttpContext http, IReadOnlyList<string> audiences, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Clients.Count == 0)
        {
            if (Hosting.Loopback.IsLocal(http))
            {
                return CdsCaller.Loopback;
            }

            LogRejected("no CDS client is configured, so only loopback callers are served", null, null, null);
            Refused(http, "untrusted_caller", "no CDS client is configured: only loopback callers are served");
            return null;
        }

        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= "Bearer ".Length)
        {
            LogRejected("no bearer JWT in the Authorization header", null, null, null);
            Refused(http, "invalid_request", "no bearer JWT in the Authorization header");
            return null;
        }

        JsonWebToken token;
        try
        {
            token = new JsonWebToken(header["Bearer ".Length..].Trim());
        }
        catch (ArgumentException)
        {
            LogRejected("the bearer token is not a JWT", null, null, null);
            Refused(http, "invalid_token", "the bearer token is not a JWT");
            return null;
        }

        var issuer = Claim(token, "iss");
        var kid = token.Kid is { Length: > 0 } k ? k : null;
        var jti = Claim(token, "jti");
        var client = settings.Clients.FirstOrDefault(c => string.Equals(c.Issuer, issuer, StringComparison.Ordinal));
        CdsCaller? Reject(string reason)
        {
            LogRejected(reason, issuer, kid, jti);
            Refused(http, "invalid_token", ReasonClass(reason));
            return null;
        }

        if (!AsymmetricAlgorithms.Contains(token.Alg ?? ""))
        {
            return Reject($"algorithm '{token.Alg}' is not an allowed asymmetric signature algorithm");
        }

        if (!string.Equals(token.Typ, "JWT", StringComparison.OrdinalIgnoreCase))
        {
            return Reject("the JWT header's typ is not JWT");
        }

        if (client is null)
        {
            return Reject("iss is not an allow-listed CDS client");
        }

        if (kid is null)
        {
            return Reject("the JWT header names no kid");
        }

        var jku = token.TryGetHeaderValue<string>("jku", out var j) ? j : null;
        // The client's own configured JWKS URL is as trusted as its allow-list.
        if (jku is not null && !client.AllowedJku.Contains(jku, StringComparer.Ordinal) && !string.Equals(jku, client.JwksUrl, StringComparison.Ordinal))
        {
            // Never fetched: a jku off the client's list could point anywhere.
            return Reject("jku is not on this client's allow-list");
        }

        var key = await jwks.FindAsync(client, jku, kid, cancellationToken);
        if (key is null)
        {
            return Reject("kid does not resolve to a key of this client");
        }

        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = client.Issuer,
            ValidAudiences = audiences,
            // aud is the service's URL exactly (CDS Hooks 2.0, "Trusting CDS Clients"): a trailing slash is another URL.
            IgnoreTrailingSlashWhenValidatingAudience = false,
            IssuerSigningKey = key,
            ValidAlgorithms = AsymmetricAlgorithms,
            RequireSignedTokens = true,
            // Lifetime is checked below against the server's clock (TimeProvider) with the configured leeway.
            ValidateLifetime = false,
            RequireExpirationTime = false,
            ValidateIssuerSigningKey = false,
            TryAllIssuerSigningKeys = false,
        });
        if (!result.IsValid)
        {
            return Reject($"validation failed ({result.Exception?.GetType().Name ?? "invalid token"})");
        }

        var now = time.GetUtcNow();
        if (!TryTime(token, "exp", out var expires) || !TryTime(token, "iat", out var issued))
        {
            return Reject("exp and iat are required numeric dates");
        }

        if (expires + settings.ClockSkew < now)
        {
            return Reject("the JWT has expired");
        }

        if (issued - settings.ClockSkew > now)
        {
            return Reject("the JWT was issued in the future");
        }

        if (expires - issued > settings.MaxTokenLifetime)
        {
            return Reject($"the JWT lives longer than {settings.MaxTokenLifetime}");
        }

        if (jti is null)
        {
            return Reject("the JWT has no jti");
        }

        var tenant = Claim(token, "tenant");
        if (client.Tenants.Count > 0 && (tenant is null || !client.Tenants.Contains(tenant, StringComparer.Ordinal)))
        {
            return Reject("tenant is not on this client's allow-list");
        }

        if (!await RememberAsync(client.Issuer, jti, expires + settings.ClockSkew, now, cancellationToken))
        {
            return Reject("jti has been seen before (replay)");
        }

        return new CdsCaller(client.Issuer, jti, tenant);
    }

    /// <summary>The key of <see cref="HttpContext.Items"/> holding why a call was refused, for its 401's WWW-Authenticate.</summary>
    internal const string RefusalItem = "healthrec.cds.refusal";

    // RFC 6750 §3: the error code and a short class of reason — never the token, its claims or the key.
    private static void Refused(HttpContext http, string error, string description) => http.Items[RefusalItem] = (error, description);

    private static string ReasonClass(string reason) => reason switch
    {
        _ when reason.StartsWith("algorithm", StringComparison.Ordinal) => "the signature algorithm is not an allowed asymmetric one",
        _ when reason.StartsWith("iss ", StringComparison.Ordinal) => "the issuer is not an allow-listed CDS client",
        _ when reason.StartsWith("jku", StringComparison.Ordinal) => "the jku is not one of this client's key sets",
        _ when reason.StartsWith("kid", StringComparison.Ordinal) || reason.Contains("no kid", StringComparison.Ordinal) => "the signing key is not one of this client's",
        _ when reason.StartsWith("validation failed (SecurityTokenInvalidAudience", StringComparison.Ordinal) => "the audience is not this service's URL",
        _ when reason.StartsWith("validation failed", StringComparison.Ordinal) => "the signature or a claim is not valid",
        _ when reason.Contains("expired", StringComparison.Ordinal) || reason.Contains("future", StringComparison.Ordinal)
            || reason.Contains("lives longer", StringComparison.Ordinal) || reason.Contains("exp and iat", StringComparison.Ordinal) => "the token's lifetime is not acceptable",
        _ when reason.Contains("replay", StringComparison.Ordinal) || reason.Contains("jti", StringComparison.Ordinal) => "the token has no jti or was used before",
        _ when reason.Contains("tenant", StringComparison.Ordinal) => "the tenant is not allowed for this client",
        _ => "the token is not acceptable",
    };

    private async Task<bool> RememberAsync(string issuer, string jti, DateTimeOffset until, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_fallbackReplay.ContainsKey((issuer, jti)))
        {
            return false;
        }

        try
        {
            return await replay.TryRememberAsync(issuer, jti, until, now, cancellationToken);
        }
        catch (DbException ex)
        {
            LogReplayStoreDown(ex.GetType().Name);
            foreach (var expired in _fallbackReplay.Where(e => e.Value < now).Select(e => e.Key).ToList())
            {
                _fallbackReplay.TryRemove(expired, out _);
            }

            return _fallbackReplay.TryAdd((issuer, jti), until);
        }
    }

    private static string? Claim(JsonWebToken token, string name) =>
        token.TryGetPayloadValue<string>(name, out var value) && value is { Length: > 0 } ? value : null;

    private static bool TryTime(JsonWebToken token, string name, out DateTimeOffset at)
    {
        if (token.TryGetPayloadValue<long>(name, out var seconds))
        {
            at = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        if (token.TryGetPayloadValue<double>(name, out var fractional) && double.IsFinite(fractional))
        {
            at = DateTimeOffset.FromUnixTimeMilliseconds((long)(fractional * 1000));
            return true;
        }

        at = default;
        return false;
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "CDS call refused (401): {Reason}; iss {Issuer}, kid {KeyId}, jti {Jti}")]
    private partial void LogRejected(string reason, string? issuer, string? keyId, string? jti);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "JWT replay store unreachable ({Error}); replays are checked on this node only until it answers")]
    private partial void LogReplayStoreDown(string error);
}

/// <summary>
/// The JWK Sets of the configured CDS clients: inline sets parsed once, remote ones fetched from the client's JWKS
/// URL or an allow-listed <c>jku</c>, cached an hour and fetched again when a <c>kid</c> is not in them (key rotation),
/// at most once every ten seconds per URL. Only the URLs the configuration names are ever fetched.
/// </summary>
internal sealed partial class JwksCache(IHttpClientFactory httpClients, TimeProvider time, ILogger<JwksCache> logger)
{
    public const string HttpClientName = "cds-jwks";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>The least time between two fetches of one URL: a stream of unknown kids cannot hammer the EHR's JWKS endpoint.</summary>
    public static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (IReadOnlyList<JsonWebKey> Keys, DateTimeOffset FetchedAt)> _remote = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<JsonWebKey>> _inline = new(StringComparer.Ordinal);

    /// <summary>
    /// The key <paramref name="kid"/>: at the token's (allowed) <paramref name="jku"/> first; when that set cannot be
    /// fetched or lacks the kid, among the client's configured keys (inline, then its JWKS URL).
    /// </summary>
    public async Task<JsonWebKey?> FindAsync(CdsClientOptions client, string? jku, string kid, CancellationToken cancellationToken)
    {
        if (jku is not null && await FindAtAsync(jku, kid, cancellationToken) is { } named)
        {
            return named;
        }

        if (client.Jwks is { Length: > 0 } inline && _inline.GetOrAdd(client.Issuer, _ => Parse(inline)).FirstOrDefault(k => k.Kid == kid) is { } configured)
        {
            return configured;
        }

        return client.JwksUrl is { } url && !string.Equals(url, jku, StringComparison.Ordinal) ? await FindAtAsync(url, kid, cancellationToken) : null;
    }

    /// <summary>
    /// The key <paramref name="kid"/> of the JWK Set at <paramref name="url"/> (a URL the caller trusts: configured, or from
    /// the EHR's SMART configuration). Without a kid, the set's only key (OpenID Connect Core §10.1 asks for a kid only
    /// when a set holds several); never a guess among several.
    /// </summary>
    public async Task<JsonWebKey?> FindAtAsync(string url, string? kid, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_remote.TryGetValue(url, out var cached))
        {
            var key = Select(cached.Keys, kid);
            if ((key is not null && now - cached.FetchedAt < Lifetime) || now - cached.FetchedAt < MinRefresh)
            {
                return key;
            }
        }

        var keys = await FetchAsync(url, cancellationToken);
        if (keys is null)
        {
            return cached.Keys is null ? null : Select(cached.Keys, kid);
        }

        _remote[url] = (keys, now);
        return Select(keys, kid);
    }

    private static JsonWebKey? Select(IReadOnlyList<JsonWebKey> keys, string? kid) =>
        kid is { Length: > 0 } ? keys.FirstOrDefault(k => k.Kid == kid) : keys.Count == 1 ? keys[0] : null;

    internal static IReadOnlyList<JsonWebKey> Parse(string json) =>
        [.. new JsonWebKeySet(json).Keys.Where(k => k.Kty is "RSA" or "EC" && !k.HasPrivateKey)];

    private async Task<IReadOnlyList<JsonWebKey>?> FetchAsync(string url, CancellationToken cancellationToken)
    {
        try
        {
            var json = await httpClients.CreateClient(HttpClientName).GetStringAsync(new Uri(url), cancellationToken);
            return Parse(json);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ArgumentException or System.Text.Json.JsonException)
        {
            LogFetchFailed(url, ex.GetType().Name);
            return null;
        }
    }

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "JWK Set {Url} could not be fetched ({Error})")]
    private partial void LogFetchFailed(string url, string error);
}
