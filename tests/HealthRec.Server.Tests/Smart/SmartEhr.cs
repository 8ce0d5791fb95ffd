namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// The EHR side of the SMART tests: the FHIR test server's authorization server (oidc-provider under /oauth) and its
/// test controls — a launch prepared for a patient, how the automated user answers, a client registered for a HealthRec
/// on a given port, the request log, key rotation — and Debian's Chromium for the browser tests.
/// </summary>
internal static class SmartEhr
{
    public static string Iss => TestServices.FhirBaseUrl.AbsoluteUri.TrimEnd('/');

    public static Uri Fhir(string path) => new(TestServices.FhirBaseUrl, path);

    /// <summary>Where the EHR sends the browser for an EHR launch.</summary>
    public static Uri EhrLaunch(RunningServer server, string launch) =>
        new(server.BaseAddress, $"/smart/launch?iss={Uri.EscapeDataString(Iss)}&launch={Uri.EscapeDataString(launch)}");

    /// <summary>A launch the EHR prepares for a patient; <paramref name="extra"/> adds query fields (encounter, style, pad, appContext).</summary>
    public static async Task<string> LaunchAsync(string patient, bool needBanner, string extra = "")
    {
        using var http = new HttpClient();
        var response = await http.PostAsync(Fhir($"/__admin/launch?patient={patient}&need_patient_banner={(needBanner ? "true" : "false")}{extra}"), null, Ct);
        return (string)(await response.Content.ReadFromJsonAsync<JsonNode>(Ct))!["launch"]!;
    }

    /// <summary>How the automated user and the token endpoint behave; every field not given is back to its default.</summary>
    public static async Task PolicyAsync(bool deny = false, string? standalonePatient = null, bool v1Only = false, int accessTokenTtl = 3600,
        bool rawBasic = false, bool refuseRefresh = false, string? denyWith = null, bool refuseBasic = false)
    {
        using var http = new HttpClient();
        (await http.PostAsync(Fhir($"/__admin/auth-policy?deny={(deny ? "true" : "false")}{(standalonePatient is null ? "" : $"&patient={standalonePatient}")}" +
            $"&v1only={(v1Only ? "true" : "false")}&access_token_ttl={accessTokenTtl}&raw_basic={(rawBasic ? "true" : "false")}" +
            $"&refuse_refresh={(refuseRefresh ? "true" : "false")}&refuse_basic={(refuseBasic ? "true" : "false")}{(denyWith is null ? "" : $"&deny_with={denyWith}")}"), null, CancellationToken.None)).EnsureSuccessStatusCode();
    }

    /// <summary>The EHR rotates its signing keys: every access token issued so far is refused by its FHIR server.</summary>
    public static async Task RotateKeysAsync()
    {
        using var http = new HttpClient();
        (await http.PostAsync(Fhir("/__admin/rotate-keys"), null, Ct)).EnsureSuccessStatusCode();
    }

    /// <summary>
    /// HealthRec registered with the EHR (dynamic client registration) with its redirect URI on a port it will listen on:
    /// the settings to start it with. A public client ("none") or confidential with a secret (client_secret_basic or
    /// client_secret_post; <paramref name="secret"/> chooses the secret the EHR issues) or a key pair.
    /// </summary>
    public static async Task<Dictionary<string, string?>> RegisterAsync(string authentication, string? secret = null, (JsonObject PublicJwk, string PrivatePem)? keys = null)
    {
        var port = HealthTests.FreeLoopbackPort();
        using var http = new HttpClient();
        if (secret is not null)
        {
            (await http.PostAsync(Fhir($"/__admin/next-secret?value={Uri.EscapeDataString(secret)}"), null, Ct)).EnsureSuccessStatusCode();
        }

        var request = new JsonObject
        {
            ["redirect_uris"] = new JsonArray($"http://127.0.0.1:{port}/smart/callback"),
            ["token_endpoint_auth_method"] = authentication,
            ["grant_types"] = new JsonArray("authorization_code", "refresh_token"),
            ["response_types"] = new JsonArray("code"),
        };
        if (keys is { } registered)
        {
            request["token_endpoint_auth_signing_alg"] = (string)registered.PublicJwk["alg"]!;
            request["jwks"] = new JsonObject { ["keys"] = new JsonArray(registered.PublicJwk) };
        }

        var registration = await http.PostAsJsonAsync(Fhir("/oauth/reg"), request, Ct);
        registration.EnsureSuccessStatusCode();
        var client = (await registration.Content.ReadFromJsonAsync<JsonNode>(Ct))!;
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["Smart:Clients:0:Issuer"] = Iss,
            ["Smart:Clients:0:ClientId"] = (string)client["client_id"]!,
            ["Logging:LogLevel:Default"] = "Trace",
        };
        if (client["client_secret"] is { } issued)
        {
            settings["Smart:Clients:0:ClientSecret"] = (string)issued!;
        }

        if (keys is { } pair)
        {
            settings["Smart:Clients:0:PrivateKey"] = pair.PrivatePem;
            settings["Smart:Clients:0:KeyId"] = (string)pair.PublicJwk["kid"]!;
        }

        return settings;
    }

    public static async Task<bool> ActiveAsync(string token)
    {
        using var http = new HttpClient();
        var answer = await http.PostAsJsonAsync(Fhir("/__admin/token"), new { token }, Ct);
        return (bool)(await answer.Content.ReadFromJsonAsync<JsonNode>(Ct))!["active"]!;
    }

    public static async Task<List<JsonNode?>> RequestLogAsync()
    {
        using var http = new HttpClient();
        return [.. JsonNode.Parse(await http.GetStringAsync(Fhir("/__admin/requests"), Ct))!.AsArray()];
    }

    public static async Task<List<JsonNode?>> TokenRequestsAsync() =>
        [.. (await RequestLogAsync()).Where(r => ((string)r!["url"]!).StartsWith("/oauth/token", StringComparison.Ordinal))];

    // Debian's chromium: required under CI (.ci/run installs it), skipped with a message elsewhere; never a downloaded browser.
    public static string ChromiumPath()
    {
        const string path = "/usr/bin/chromium";
        if (!File.Exists(path))
        {
            const string message = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run installs it).";
            if (TestServices.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        return path;
    }

    public static Task<IBrowser> ChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = ChromiumPath(),
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
}
