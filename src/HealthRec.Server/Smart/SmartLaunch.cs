using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HealthRec.Server.CdsHooks;
using HealthRec.Server.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace HealthRec.Server.Smart;

/// <summary>What a launch left in the browser (encrypted, time-limited) for its callback to check.</summary>
internal sealed record PendingAuthorization(string State, string Verifier, string Issuer, string ClientId, string TokenEndpoint, string RedirectUri)
{
    // The verifier is a secret: never printed.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Issuer = ").Append(Issuer).Append(", ClientId = ").Append(ClientId);
        return true;
    }
}

/// <summary>
/// SMART App Launch 2.2 for the patient view: EHR launch (<c>/smart/launch?iss&amp;launch</c>) and standalone launch
/// (<c>/smart/login?iss</c>); discovery from <c>{iss}/.well-known/smart-configuration</c>; the authorization code flow
/// with PKCE S256 and a 256-bit <c>state</c> bound to the browser by an encrypted, time-limited cookie; the code
/// exchanged on the server, where the tokens stay (see <see cref="SmartSessions"/>); the view read from the EHR's FHIR
/// server with the access token, refreshed when it has expired. Every failure ends on a page that says what happened,
/// with no token used after it.
/// </summary>
internal static partial class SmartLaunch
{
    public const string AuthHttpClient = "smart-auth";
    private const string PendingCookie = "healthrec.smart.pending";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static Task<IResult> EhrLaunchAsync(HttpContext http, string? iss, string? launch, IOptions<SmartOptions> options, IOptions<CdsHooksOptions> cds,
        IHttpClientFactory clients, IDataProtectionProvider protection, ILoggerFactory logs) =>
        string.IsNullOrWhiteSpace(launch) || launch.Length > 2048
            ? Task.FromResult(Error(400, "The launch is not valid", ["The EHR's launch must carry a launch parameter."]))
            : StartAsync(http, iss, launch, options.Value, cds.Value, clients, protection, logs.CreateLogger(nameof(SmartLaunch)));

    public static Task<IResult> StandaloneLaunchAsync(HttpContext http, string? iss, IOptions<SmartOptions> options, IOptions<CdsHooksOptions> cds,
        IHttpClientFactory clients, IDataProtectionProvider protection, ILoggerFactory logs) =>
        StartAsync(http, iss, null, options.Value, cds.Value, clients, protection, logs.CreateLogger(nameof(SmartLaunch)));

    private static async Task<IResult> StartAsync(HttpContext http, string? iss, string? launch, SmartOptions options, CdsHooksOptions cds,
        IHttpClientFactory clients, IDataProtectionProvider protection, ILogger logger)
    {
        if (string.IsNullOrWhiteSpace(iss) || options.ClientFor(iss) is not { } client)
        {
            Log.UnknownIssuer(logger, iss?.Length > 200 ? iss[..200] : iss ?? "");
            return Error(400, "HealthRec is not registered with this EHR", [$"No client is configured for the FHIR server '{iss}' (setting Smart:Clients)."]);
        }

        SmartAuditFilter.Note(http, issuer: client.Issuer, client: client.ClientId);
        var configuration = await DiscoverAsync(clients.CreateClient(AuthHttpClient), iss.TrimEnd('/'), http.RequestAborted);
        if (configuration.Problem is { } problem)
        {
            Log.DiscoveryFailed(logger, client.Issuer, problem);
            return Error(502, "The EHR's SMART configuration could not be read", [problem]);
        }

        var state = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var redirect = new Uri(CdsHooksEndpoints.BaseUrl(http, cds), "smart/callback").AbsoluteUri;
        var scopes = (launch is null ? "launch/patient " : "launch ") + options.Scopes;
        if (configuration.Capabilities.Contains("permission-v1") && !configuration.Capabilities.Contains("permission-v2"))
        {
            scopes = scopes.Replace(".rs", ".read", StringComparison.Ordinal);
        }

        var pending = new PendingAuthorization(state, verifier, client.Issuer.TrimEnd('/'), client.ClientId, configuration.TokenEndpoint!.AbsoluteUri, redirect);
        http.Response.Cookies.Append(PendingCookie, PendingProtector(protection).Protect(JsonSerializer.Serialize(pending, Json), options.AuthorizationTimeout),
            CookieOptions(http, "/smart/callback", options.AuthorizationTimeout));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = client.ClientId,
            ["redirect_uri"] = redirect,
            ["launch"] = launch,
            ["scope"] = scopes,
            ["state"] = state,
            ["aud"] = pending.Issuer,
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        };
        Log.LaunchStarted(logger, pending.Issuer, launch is null ? "standalone" : "EHR");
        return Results.Redirect(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(configuration.AuthorizationEndpoint!.AbsoluteUri,
            query.Where(q => q.Value is not null)!));
    }

    public static async Task<IResult> CallbackAsync(HttpContext http, string? code, string? state, string? error, IOptions<SmartOptions> options,
        IOptions<CdsHooksOptions> cds, IHttpClientFactory clients, IDataProtectionProvider protection, SmartSessions sessions, TimeProvider time, ILoggerFactory logs)
    {
        var logger = logs.CreateLogger(nameof(SmartLaunch));
        var cookie = http.Request.Cookies[PendingCookie];
        http.Response.Cookies.Delete(PendingCookie, CookieOptions(http, "/smart/callback", TimeSpan.Zero));
        PendingAuthorization? pending = null;
        try
        {
            pending = cookie is null ? null : JsonSerializer.Deserialize<PendingAuthorization>(
                PendingProtector(protection).Unprotect(cookie), Json);
        }
        catch (CryptographicException)
        {
            // Expired, or not ours: treated as absent.
        }

        if (pending is null || state is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(state), Encoding.UTF8.GetBytes(pending.State)))
        {
            Log.StateRejected(logger, pending is null ? "no pending launch in this browser" : "state differs");
            return Error(400, "The sign-in could not be verified",
                ["The answer from the EHR does not match a launch started in this browser (it expired, or came from elsewhere). Nothing was read."]);
        }

        SmartAuditFilter.Note(http, issuer: pending.Issuer, client: pending.ClientId);
        if (error is not null)
        {
            Log.AuthorizationDenied(logger, pending.Issuer, error.Length > 64 ? error[..64] : error);
            return Error(403, "Access to the record was not granted", [error == "access_denied"
                ? "The EHR did not allow HealthRec to read this patient's record."
                : $"The EHR answered '{error}'."]);
        }

        if (string.IsNullOrEmpty(code))
        {
            return Error(400, "The sign-in could not be completed", ["The EHR's answer carries no authorization code."]);
        }

        var client = options.Value.ClientFor(pending.Issuer);
        if (client is null || client.ClientId != pending.ClientId)
        {
            return Error(400, "HealthRec is not registered with this EHR", ["The EHR's client settings changed during the sign-in."]);
        }

        var (tokens, exchangeProblem) = await ExchangeAsync(clients.CreateClient(AuthHttpClient), pending.TokenEndpoint, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = pending.RedirectUri,
            ["code_verifier"] = pending.Verifier,
        }, time.GetUtcNow(), http.RequestAborted);
        if (tokens is null)
        {
            Log.ExchangeFailed(logger, pending.Issuer, exchangeProblem!);
            return Error(400, "The EHR did not accept the sign-in", [exchangeProblem!]);
        }

        if (tokens.Patient is not { Length: > 0 } patient)
        {
            return Error(400, "The EHR did not say which patient", ["The token response carries no patient, so there is no record to show."]);
        }

        SmartAuditFilter.Note(http, patient: patient);
        var now = time.GetUtcNow();
        var session = new SmartSession(pending.Issuer, patient, pending.ClientId, pending.TokenEndpoint, tokens.AccessToken, tokens.RefreshToken,
            now.AddSeconds(tokens.ExpiresIn ?? 300), now + options.Value.SessionLifetime, tokens.NeedPatientBanner ?? true, tokens.Scope ?? "",
            tokens.AppContext is { Length: <= 4096 } appContext ? appContext : null);
        var id = await sessions.CreateAsync(session, http.RequestAborted);
        http.Response.Cookies.Append(SmartSessions.CookieName, id, CookieOptions(http, "/smart", options.Value.SessionLifetime));
        Log.SignedIn(logger, pending.Issuer, patient);
        // On the same base as the redirect URI (CdsHooks:PublicBaseUrl behind a proxy that mounts HealthRec under a path).
        return Results.Redirect(new Uri(CdsHooksEndpoints.BaseUrl(http, cds.Value), "smart/app").AbsoluteUri);
    }

    /// <summary>The session's access token, refreshed first when it has expired and a refresh token was given; null when the session must end.</summary>
    public static async Task<SmartSession?> FreshAsync(string id, SmartSession session, SmartOptions options, IHttpClientFactory clients, SmartSessions sessions,
        TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (session.TokenExpiresAt > time.GetUtcNow().AddSeconds(30))
        {
            return session;
        }

        if (session.RefreshToken is null || options.ClientFor(session.Issuer) is not { } client)
        {
            return null;
        }

        var (tokens, problem) = await ExchangeAsync(clients.CreateClient(AuthHttpClient), session.TokenEndpoint, client, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = session.RefreshToken,
        }, time.GetUtcNow(), cancellationToken);
        if (tokens is null)
        {
            Log.ExchangeFailed(logger, session.Issuer, problem!);
            await sessions.RemoveAsync(id, cancellationToken);
            return null;
        }

        var refreshed = session with
        {
            AccessToken = tokens.AccessToken,
            RefreshToken = tokens.RefreshToken ?? session.RefreshToken,
            TokenExpiresAt = time.GetUtcNow().AddSeconds(tokens.ExpiresIn ?? 300),
        };
        await sessions.SaveAsync(id, refreshed, cancellationToken);
        return refreshed;
    }

    private sealed record TokenResponse(string AccessToken, string? RefreshToken, int? ExpiresIn, string? Scope, string? Patient, bool? NeedPatientBanner,
        string? AppContext);

    private static async Task<(TokenResponse? Tokens, string? Problem)> ExchangeAsync(HttpClient http, string tokenEndpoint, SmartClientOptions client,
        Dictionary<string, string> form, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint);
        if (!string.IsNullOrEmpty(client.PrivateKey))
        {
            form["client_assertion_type"] = ClientAssertion.Type;
            form["client_assertion"] = ClientAssertion.Create(client, tokenEndpoint, now);
        }
        else if (string.IsNullOrEmpty(client.ClientSecret))
        {
            form["client_id"] = client.ClientId;
        }
        else
        {
            // client_secret_basic (RFC 6749 2.3.1): both parts form-encoded, then Base64.
            var credentials = $"{Uri.EscapeDataString(client.ClientId)}:{Uri.EscapeDataString(client.ClientSecret)}";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }

        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = body.RootElement;
            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"The EHR's token endpoint answered {(int)response.StatusCode}: {Text("error") ?? "no error code"}" +
                    (Text("error_description") is { } description ? $" ({description})" : ""));
            }

            if (Text("access_token") is not { Length: > 0 } accessToken || !string.Equals(Text("token_type"), "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return (null, "The EHR's token response carries no bearer access token.");
            }

            int? expires = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : null;
            bool? banner = root.TryGetProperty("need_patient_banner", out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False ? b.GetBoolean() : null;
            // appContext (CDS Hooks 2.0, Link): what the card that opened the app shared, a string or JSON.
            var appContext = root.TryGetProperty("appContext", out var context) ? context.ValueKind == JsonValueKind.String ? context.GetString() : context.GetRawText() : null;
            return (new TokenResponse(accessToken, Text("refresh_token"), expires, Text("scope"), Text("patient"), banner, appContext), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return (null, "The EHR's token endpoint could not be reached or answered something that is not JSON.");
        }
    }

    private sealed record Discovery(Uri? AuthorizationEndpoint, Uri? TokenEndpoint, IReadOnlySet<string> Capabilities, string? Problem);

    private static async Task<Discovery> DiscoverAsync(HttpClient http, string iss, CancellationToken cancellationToken)
    {
        var none = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{iss}/.well-known/smart-configuration");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await http.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return new Discovery(null, null, none, $"{iss}/.well-known/smart-configuration answered {(int)response.StatusCode}.");
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = body.RootElement;
            Uri? Endpoint(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var url) && Loopback.IsHttpsOrLoopback(url) ? url : null;
            HashSet<string> Strings(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
                ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)] : none;
            var (authorize, token) = (Endpoint("authorization_endpoint"), Endpoint("token_endpoint"));
            var methods = Strings("code_challenge_methods_supported");
            var problem = authorize is null || token is null ? "Its SMART configuration names no https authorization and token endpoints."
                : methods.Count > 0 && !methods.Contains("S256") ? "It does not support PKCE with S256, which SMART App Launch 2.2 requires."
                : null;
            return new Discovery(authorize, token, Strings("capabilities"), problem);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return new Discovery(null, null, none, $"{iss}/.well-known/smart-configuration could not be read.");
        }
    }

    // HttpOnly always; Secure with SameSite=None over https (the app runs in the EHR's iframe); Lax on plain-http loopback.
    private static CookieOptions CookieOptions(HttpContext http, string path, TimeSpan lifetime) => new()
    {
        HttpOnly = true,
        Secure = http.Request.IsHttps,
        SameSite = http.Request.IsHttps ? SameSiteMode.None : SameSiteMode.Lax,
        Path = path,
        MaxAge = lifetime,
        IsEssential = true,
    };

    // The launch's pending authorization, sealed for the browser for at most Smart:AuthorizationTimeout.
    private static ITimeLimitedDataProtector PendingProtector(IDataProtectionProvider protection) =>
        protection.CreateProtector("HealthRec.Smart.Pending.v1").ToTimeLimitedDataProtector();

    internal static IResult Error(int status, string title, IReadOnlyList<string> problems) =>
        new Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult<ErrorPage>(
            new Dictionary<string, object?> { [nameof(ErrorPage.Title)] = title, [nameof(ErrorPage.Problems)] = problems }) { StatusCode = status };

    private static partial class Log
    {
        [LoggerMessage(EventId = 9000, Level = LogLevel.Warning, Message = "SMART launch refused: no client is configured for iss {Issuer}")]
        public static partial void UnknownIssuer(ILogger logger, string issuer);

        [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "SMART discovery failed for {Issuer}: {Problem}")]
        public static partial void DiscoveryFailed(ILogger logger, string issuer, string problem);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "SMART {Kind} launch started for {Issuer}")]
        public static partial void LaunchStarted(ILogger logger, string issuer, string kind);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "SMART callback refused: {Reason}")]
        public static partial void StateRejected(ILogger logger, string reason);

        [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "SMART authorization at {Issuer} ended with {Error}")]
        public static partial void AuthorizationDenied(ILogger logger, string issuer, string error);

        [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "SMART token exchange with {Issuer} failed: {Problem}")]
        public static partial void ExchangeFailed(ILogger logger, string issuer, string problem);

        [LoggerMessage(EventId = 9006, Level = LogLevel.Information, Message = "SMART session started at {Issuer} for Patient/{Patient}")]
        public static partial void SignedIn(ILogger logger, string issuer, string patient);
    }
}
