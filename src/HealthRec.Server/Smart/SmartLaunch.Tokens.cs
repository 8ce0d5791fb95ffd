using System.Net.Http.Headers;

namespace HealthRec.Server.Smart;

/// <summary>The EHR's token endpoint and SMART configuration: the code exchanged and refreshed with the client's authentication, the discovery document read.</summary>
internal static partial class SmartLaunch
{
    /// <summary>
    /// The session's access token, refreshed first when it has expired (or, with <paramref name="force"/>, because the
    /// FHIR server refused it) and a refresh token was given; null when the session must end.
    /// </summary>
    public static async Task<SmartSession?> FreshAsync(string id, SmartSession session, SmartOptions options, IHttpClientFactory clients, SmartSessions sessions,
        TimeProvider time, ILogger logger, CancellationToken cancellationToken, bool force = false)
    {
        if (!force && session.TokenExpiresAt > time.GetUtcNow().AddSeconds(30))
        {
            return session;
        }

        if (session.RefreshToken is null || options.ClientFor(session.Issuer) is not { } client)
        {
            return null;
        }

        var (tokens, problem, method) = await ExchangeAsync(clients.CreateClient(AuthHttpClient), session.TokenEndpoint, client, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = session.RefreshToken,
        }, time.GetUtcNow(), session.AuthMethod, false, cancellationToken);
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
            AuthMethod = method ?? session.AuthMethod,
        };
        await sessions.SaveAsync(id, refreshed, cancellationToken);
        Log.Refreshed(logger, session.Issuer, force ? "the FHIR server refused the access token" : "the access token expired");
        return refreshed;
    }

    private sealed record TokenResponse(string AccessToken, string? RefreshToken, int? ExpiresIn, string? Scope, string? Patient, bool? NeedPatientBanner,
        string? AppContext)
    {
        public string? IdToken { get; init; }

        public string? Encounter { get; init; }

        public string? StyleUrl { get; init; }
    }

    // The token endpoint call, authenticated as the client is registered: a signed assertion (private_key_jwt), the secret
    // or the client id alone (a public client). Returns the method used, for the session's refreshes. A secret goes in
    // HTTP Basic form-encoded as RFC 6749 §2.3.1 says, or in the body when configured (client_secret_post). When nothing
    // is configured and the server refuses Basic with invalid_client, two fallbacks, each at most once: the same Basic
    // credentials without form-encoding, when encoding changed them (servers that compare them raw, such as
    // smart-launcher-v2); then client_secret_post, when the server advertises it.
    private static async Task<(TokenResponse? Tokens, string? Problem, string? Method)> ExchangeAsync(HttpClient http, string tokenEndpoint,
        SmartClientOptions client, Dictionary<string, string> form, DateTimeOffset now, string? method, bool postAdvertised, CancellationToken cancellationToken)
    {
        method ??= !string.IsNullOrEmpty(client.PrivateKey) ? "private_key_jwt"
            : string.IsNullOrEmpty(client.ClientSecret) ? "none"
            : client.TokenEndpointAuthMethod ?? "client_secret_basic";
        var (tokens, problem, refusedClient) = await PostAsync(http, tokenEndpoint, client, form, now, method, cancellationToken);
        if (refusedClient && method == "client_secret_basic" && client.TokenEndpointAuthMethod is null)
        {
            var answers = new List<string> { problem! };
            var encodingMatters = !string.Equals(BasicCredentials(client, encode: true), BasicCredentials(client, encode: false), StringComparison.Ordinal)
                && !client.ClientId.Contains(':', StringComparison.Ordinal);
            if (encodingMatters)
            {
                method = UnencodedBasic;
                (tokens, problem, refusedClient) = await PostAsync(http, tokenEndpoint, client, form, now, method, cancellationToken);
                answers.Add($"With the secret in Basic without form-encoding: {problem}");
            }

            if (refusedClient && postAdvertised)
            {
                method = "client_secret_post";
                (tokens, problem, refusedClient) = await PostAsync(http, tokenEndpoint, client, form, now, method, cancellationToken);
                answers.Add($"With the secret in the request body (client_secret_post): {problem}");
            }

            // Every answer, in order: the first (to the standard request) usually says what is wrong, such as a wrong secret.
            if (tokens is null && answers.Count > 1)
            {
                problem = string.Join(" ", answers.Select(answer => answer.EndsWith('.') ? answer : answer + "."));
            }
        }

        return (tokens, problem, tokens is null ? null : method);
    }

    // Basic credentials as a server that does not form-decode them expects (a fallback; never configured).
    private const string UnencodedBasic = "client_secret_basic (unencoded)";

    // RFC 6749 §2.3.1: id and secret each application/x-www-form-urlencoded, then joined with ':'.
    private static string BasicCredentials(SmartClientOptions client, bool encode) =>
        encode ? $"{FormEncode(client.ClientId)}:{FormEncode(client.ClientSecret!)}" : $"{client.ClientId}:{client.ClientSecret}";

    // One token request: the grant's fields (left as they are, for a retry in another form) and the client's authentication.
    private static async Task<(TokenResponse? Tokens, string? Problem, bool RefusedClient)> PostAsync(HttpClient http, string tokenEndpoint, SmartClientOptions client,
        IReadOnlyDictionary<string, string> grant, DateTimeOffset now, string method, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>(grant);
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint);
        switch (method)
        {
            case "private_key_jwt":
                form["client_assertion_type"] = ClientAssertion.Type;
                form["client_assertion"] = ClientAssertion.Create(client, tokenEndpoint, now);
                break;
            case "client_secret_post":
                form["client_id"] = client.ClientId;
                form["client_secret"] = client.ClientSecret!;
                break;
            case "client_secret_basic" or UnencodedBasic:
                var credentials = BasicCredentials(client, encode: method == "client_secret_basic");
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
                break;
            default:
                form["client_id"] = client.ClientId;
                break;
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
                // The client's authentication refused (the caller may try another form of the secret).
                var refused = (method is "client_secret_basic" or UnencodedBasic or "client_secret_post") && Text("error") == "invalid_client";
                return (null, $"The EHR's token endpoint answered {(int)response.StatusCode}: {Text("error") ?? "no error code"}" +
                    (Text("error_description") is { } description ? $" ({Clip(description, 500)})" : ""), refused);
            }

            if (Text("access_token") is not { Length: > 0 } accessToken || !string.Equals(Text("token_type"), "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return (null, "The EHR's token response carries no bearer access token.", false);
            }

            int? expires = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : null;
            bool? banner = root.TryGetProperty("need_patient_banner", out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False ? b.GetBoolean() : null;
            // appContext (CDS Hooks 2.0, Link): what the card that opened the app shared, a string or JSON.
            var appContext = root.TryGetProperty("appContext", out var context) ? context.ValueKind == JsonValueKind.String ? context.GetString() : context.GetRawText() : null;
            return (new TokenResponse(accessToken, Text("refresh_token"), expires, Text("scope"), Text("patient"), banner, appContext)
            {
                IdToken = Text("id_token"),
                Encounter = Text("encounter"),
                StyleUrl = Text("smart_style_url"),
            }, null, false);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return (null, "The EHR's token endpoint could not be reached or answered something that is not JSON.", false);
        }
    }

    // application/x-www-form-urlencoded: a space becomes '+', every reserved character %XX.
    private static string FormEncode(string text) => Uri.EscapeDataString(text).Replace("%20", "+", StringComparison.Ordinal);

    private sealed record Discovery(Uri? AuthorizationEndpoint, Uri? TokenEndpoint, IReadOnlySet<string> Capabilities, string? Problem)
    {
        public string? Issuer { get; init; }

        public Uri? JwksUri { get; init; }

        public IReadOnlySet<string> AuthMethods { get; init; } = new HashSet<string>(StringComparer.Ordinal);
    }

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
            return new Discovery(authorize, token, Strings("capabilities"), problem)
            {
                Issuer = root.TryGetProperty("issuer", out var issuer) && issuer.ValueKind == JsonValueKind.String ? issuer.GetString() : null,
                JwksUri = Endpoint("jwks_uri"),
                AuthMethods = Strings("token_endpoint_auth_methods_supported"),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return new Discovery(null, null, none, $"{iss}/.well-known/smart-configuration could not be read.");
        }
    }

    // HttpOnly always; Secure with SameSite=None over https (the app runs in the EHR's iframe); Lax on plain-http loopback.
}
