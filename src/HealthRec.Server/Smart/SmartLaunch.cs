namespace HealthRec.Server.Smart;

/// <summary>
/// What a launch left in the browser (encrypted, time-limited, in a cookie named after its <c>state</c>, so that launches
/// pending at once in one browser never meet) for its callback to check: the state, the PKCE verifier, the nonce its
/// id_token must carry, and what the EHR's SMART configuration said about its token endpoint and identity tokens.
/// </summary>
internal sealed record PendingAuthorization(string State, string Verifier, string Issuer, string ClientId, string TokenEndpoint, string RedirectUri)
{
    public string Nonce { get; init; } = "";

    /// <summary>The authorization server's issuer and JWK Set (for the id_token), from the SMART configuration.</summary>
    public string? OidcIssuer { get; init; }

    public string? JwksUri { get; init; }

    /// <summary>The token endpoint's authentication methods, as the SMART configuration lists them.</summary>
    public IReadOnlyList<string> AuthMethods { get; init; } = [];

    // The verifier is a secret: never printed.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Issuer = ").Append(Issuer).Append(", ClientId = ").Append(ClientId);
        return true;
    }
}

/// <summary>
/// SMART App Launch 2.2 for the patient view: EHR launch (<c>/smart/launch?iss&amp;launch</c>, a launch value of any
/// length) and standalone launch (<c>/smart/login?iss</c>); discovery from <c>{iss}/.well-known/smart-configuration</c>;
/// the authorization code flow with PKCE S256, a 256-bit <c>state</c> bound to the browser by an encrypted, time-limited
/// cookie of its own, and a nonce; the code exchanged on the server, where the tokens stay (client_secret_basic as RFC
/// 6749 2.3.1 encodes it, client_secret_post when configured or when the server refuses Basic and advertises post,
/// private_key_jwt, or a public client); the id_token checked and its <c>fhirUser</c> kept for the audit trail; one
/// session per launch (see <see cref="SmartSessions"/>). Every failure ends on a page that says what happened, in the
/// EHR's words where it gave some, with no token used after it.
/// </summary>
internal static partial class SmartLaunch
{
    public const string AuthHttpClient = "smart-auth";
    private const string PendingCookiePrefix = "healthrec.smart.p.";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // SMART sets no limit on the launch value (a launcher holding an inline JWKS sends 2,500 characters and more); the
    // server's own request-line limit is the only one.
    public static Task<IResult> EhrLaunchAsync(HttpContext http, string? iss, string? launch, IOptions<SmartOptions> options, IOptions<CdsHooksOptions> cds,
        IHttpClientFactory clients, IDataProtectionProvider protection, ILoggerFactory logs) =>
        string.IsNullOrWhiteSpace(launch)
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
        var nonce = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        var redirect = new Uri(CdsHooksEndpoints.BaseUrl(http, cds), "smart/callback").AbsoluteUri;
        var scopes = (launch is null ? "launch/patient " : "launch ") + options.Scopes;
        if (configuration.Capabilities.Contains("permission-v1") && !configuration.Capabilities.Contains("permission-v2"))
        {
            scopes = scopes.Replace(".rs", ".read", StringComparison.Ordinal);
        }

        var pending = new PendingAuthorization(state, verifier, client.Issuer.TrimEnd('/'), client.ClientId, configuration.TokenEndpoint!.AbsoluteUri, redirect)
        {
            Nonce = nonce,
            OidcIssuer = configuration.Issuer,
            JwksUri = configuration.JwksUri?.AbsoluteUri,
            AuthMethods = [.. configuration.AuthMethods],
        };
        http.Response.Cookies.Append(PendingCookiePrefix + state, PendingProtector(protection).Protect(JsonSerializer.Serialize(pending, Json), options.AuthorizationTimeout),
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
            ["nonce"] = nonce,
        };
        Log.LaunchStarted(logger, pending.Issuer, launch is null ? "standalone" : "EHR");
        return Results.Redirect(Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(configuration.AuthorizationEndpoint!.AbsoluteUri,
            query.Where(q => q.Value is not null)!));
    }

    public static async Task<IResult> CallbackAsync(HttpContext http, string? code, string? state, string? error,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "error_description")] string? errorDescription, IOptions<SmartOptions> options,
        IOptions<CdsHooksOptions> cds, IHttpClientFactory clients, IDataProtectionProvider protection, SmartSessions sessions, IdentityTokens identities,
        TimeProvider time, ILoggerFactory logs)
    {
        var logger = logs.CreateLogger(nameof(SmartLaunch));
        // The pending launch is the one whose state came back: its own cookie, so launches pending at once stay apart.
        var cookieName = state is not null && StatePattern().IsMatch(state) ? PendingCookiePrefix + state : null;
        var cookie = cookieName is null ? null : http.Request.Cookies[cookieName];
        if (cookieName is not null)
        {
            http.Response.Cookies.Delete(cookieName, CookieOptions(http, "/smart/callback", TimeSpan.Zero));
        }

        PendingAuthorization? pending = null;
        try
        {
            pending = cookie is null ? null : JsonSerializer.Deserialize<PendingAuthorization>(PendingProtector(protection).Unprotect(cookie), Json);
        }
        catch (CryptographicException)
        {
            // Expired, or not ours: treated as absent.
        }

        if (pending is null || state is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(state), Encoding.UTF8.GetBytes(pending.State)))
        {
            Log.StateRejected(logger, pending is null ? "no pending launch with this state in this browser" : "state differs");
            return Error(400, "The sign-in could not be verified",
                ["The answer from the EHR does not match a launch started in this browser (it expired, or came from elsewhere). Nothing was read."]);
        }

        SmartAuditFilter.Note(http, issuer: pending.Issuer, client: pending.ClientId);
        if (error is not null)
        {
            Log.AuthorizationDenied(logger, pending.Issuer, error.Length > 64 ? error[..64] : error);
            return AuthorizationError(error, errorDescription);
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

        var (tokens, exchangeProblem, method) = await ExchangeAsync(clients.CreateClient(AuthHttpClient), pending.TokenEndpoint, client, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = pending.RedirectUri,
            ["code_verifier"] = pending.Verifier,
        }, time.GetUtcNow(), null, pending.AuthMethods.Contains("client_secret_post"), http.RequestAborted);
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
        SignedInUser? user = null;
        if (tokens.IdToken is { Length: > 0 } idToken)
        {
            var (verified, identityProblem) = await identities.ValidateAsync(idToken, pending.OidcIssuer, pending.JwksUri, pending.ClientId, pending.Nonce, http.RequestAborted);
            if (verified is null)
            {
                Log.ExchangeFailed(logger, pending.Issuer, identityProblem!);
                return Error(400, "The EHR's identity token could not be verified", [identityProblem!, "No session was started and nothing was read."]);
            }

            user = verified;
            SmartAuditFilter.Note(http, user: user.FhirUser);
        }

        var now = time.GetUtcNow();
        var launchKey = SmartSessions.NewLaunchKey();
        var session = new SmartSession(pending.Issuer, patient, pending.ClientId, pending.TokenEndpoint, tokens.AccessToken, tokens.RefreshToken,
            now.AddSeconds(tokens.ExpiresIn ?? 300), now + options.Value.SessionLifetime, tokens.NeedPatientBanner ?? true, tokens.Scope ?? "",
            tokens.AppContext is { Length: <= 4096 } appContext ? appContext : null)
        {
            LaunchKey = launchKey,
            FhirUser = user?.FhirUser,
            Encounter = tokens.Encounter is { Length: <= 64 } encounter && FhirId().IsMatch(encounter) ? encounter : null,
            AuthMethod = method,
            Style = tokens.StyleUrl is { } styleUrl ? await StyleAsync(clients.CreateClient(AuthHttpClient), styleUrl, http.RequestAborted) : null,
        };
        var id = await sessions.CreateAsync(session, http.RequestAborted);
        http.Response.Cookies.Append(SmartSessions.CookieName(launchKey), id, CookieOptions(http, $"/smart/app/{launchKey}", options.Value.SessionLifetime));
        Log.SignedIn(logger, pending.Issuer, patient);
        // On the same base as the redirect URI (CdsHooks:PublicBaseUrl behind a proxy that mounts HealthRec under a path).
        return Results.Redirect(new Uri(CdsHooksEndpoints.BaseUrl(http, cds.Value), $"smart/app/{launchKey}").AbsoluteUri);
    }

    // The EHR's own words (Razor escapes them), under a title that says whose move it is.
    private static IResult AuthorizationError(string error, string? description)
    {
        var said = $"The EHR answered '{Clip(error, 64)}'" + (description is { Length: > 0 } d ? $": {Clip(d, 500)}" : ".");
        return error switch
        {
            "access_denied" => Error(403, "Access to the record was not granted", [said, "The EHR did not allow HealthRec to read this patient's record."]),
            "invalid_client" or "unauthorized_client" or "invalid_scope" or "invalid_request" or "unsupported_response_type" or "invalid_grant" =>
                Error(400, "The EHR refused HealthRec's sign-in request", [said,
                    "This is a configuration problem, not a question of access: ask the EHR's administrator to check HealthRec's registration (client id, redirect URI, scopes)."]),
            "server_error" or "temporarily_unavailable" => Error(502, "The EHR could not complete the sign-in", [said, "Try again in a moment."]),
            _ => Error(400, "The sign-in did not complete", [said]),
        };
    }

    private static string Clip(string text, int length) => text.Length > length ? text[..length] + "…" : text;

    private const int MaxStyleBytes = 64 * 1024;

    // smart_style_url: read once at sign-in, briefly; what it holds is reduced to a few safe values, or ignored.
    private static async Task<SmartStyle?> StyleAsync(HttpClient http, string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !Loopback.IsHttpsOrLoopback(uri))
        {
            return null;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await http.GetAsync(uri, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            // A style is a few hundred bytes: more than 64 KB is not one.
            await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            var buffer = new byte[MaxStyleBytes + 1];
            var read = 0;
            for (int n; read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), deadline.Token)) > 0;)
            {
                read += n;
            }

            if (read > MaxStyleBytes)
            {
                return null;
            }

            using var body = JsonDocument.Parse(buffer.AsMemory(0, read));
            return SmartStyle.From(body.RootElement);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

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

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{43}$")]
    private static partial System.Text.RegularExpressions.Regex StatePattern();

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9.-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex FhirId();

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

        [LoggerMessage(EventId = 9007, Level = LogLevel.Information, Message = "SMART session at {Issuer} refreshed: {Reason}")]
        public static partial void Refreshed(ILogger logger, string issuer, string reason);
    }
}
