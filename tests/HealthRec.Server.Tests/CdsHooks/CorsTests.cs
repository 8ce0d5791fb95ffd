namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// A browser-based EHR on another origin, as CDS Hooks clients like the public Sandbox are: a page served from a second
/// loopback server runs discovery, patient-view, order-select, order-sign and feedback with <c>fetch()</c> and a JWT in
/// real Chromium. Without CORS the browser blocks every one of them (the preflight for Authorization fails).
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class CorsTests(TrustedClients fixture) : IClassFixture<TrustedClients>, IAsyncLifetime
{
    private static readonly JsonWebTokenHandler Handler = new();
    private WebApplication? _ehr;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _ehr = builder.Build();
        _ehr.MapGet("/", () => Results.Content("<!doctype html><title>EHR</title><p>ordering screen</p>", "text/html"));
        await _ehr.StartAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ehr is not null)
        {
            await _ehr.DisposeAsync();
        }
    }

    private string Token(string path) => Handler.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = TrustedClients.InlineIssuer,
        Audience = new Uri(fixture.Server.BaseAddress, path).AbsoluteUri,
        IssuedAt = DateTime.UtcNow,
        Expires = DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = new SigningCredentials(fixture.Ec, SecurityAlgorithms.EcdsaSha384),
        Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString() },
    });

    [Fact]
    public async Task GivenAPageOnAnotherOrigin_WhenItCallsEveryCdsEndpointWithFetchAndAJwt_ThenTheBrowserLetsEachAnswerThrough()
    {
        var patient = PatientFixture.HighRisk();
        var lisinopril = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        var orders = new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(lisinopril) };
        var select = new JsonObject
        {
            ["draftOrders"] = PatientFixture.DraftOrders(lisinopril),
            ["selections"] = new JsonArray(JsonValue.Create($"MedicationRequest/{lisinopril.Id}")),
        };
        var calls = new[]
        {
            ("/cds-services/healthrec-patient-risk", patient.Call(prefetch: patient.Prefetch())),
            ("/cds-services/healthrec-order-select", patient.Call("order-select", patient.Prefetch(), extraContext: select)),
            ("/cds-services/healthrec-order-sign", patient.Call("order-sign", patient.Prefetch(), extraContext: orders)),
        }.Select(c => new { path = c.Item1, token = Token(c.Item1), body = c.Item2.ToJsonString() }).ToList();
        var server = fixture.Server.BaseAddress.AbsoluteUri.TrimEnd('/');

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = SmartEhr.ChromiumPath(),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(_ehr!.Urls.First() + "/");
        Assert.NotEqual(new Uri(page.Url).Port, fixture.Server.BaseAddress.Port);

        // The page's own script, as an EHR's: discovery, the three hooks, then feedback on the first card returned.
        var results = await page.EvaluateAsync<JsonElement>("""
            async ({ server, calls, feedbackToken }) => {
              const out = [];
              const discovery = await fetch(server + '/cds-services');
              out.push({ what: 'discovery', status: discovery.status, services: (await discovery.json()).services.length });
              let card = null;
              for (const c of calls) {
                const r = await fetch(server + c.path, { method: 'POST', body: c.body,
                  headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + c.token } });
                const json = await r.json();
                card = card ?? json.cards?.[0] ?? null;
                out.push({ what: c.path + ' ' + JSON.parse(c.body).hook, status: r.status, cards: json.cards?.length ?? -1 });
              }
              const feedback = await fetch(server + '/cds-services/healthrec-patient-risk/feedback', { method: 'POST',
                headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + feedbackToken },
                body: JSON.stringify({ feedback: [{ card: card.uuid, outcome: 'overridden', outcomeTimestamp: new Date().toISOString(),
                  overrideReason: { reason: card.overrideReasons[0] } }] }) });
              out.push({ what: 'feedback', status: feedback.status });
              return out;
            }
            """, new { server, calls, feedbackToken = Token("/cds-services/healthrec-patient-risk/feedback") });

        var answers = results.EnumerateArray().Select(r => (What: r.GetProperty("what").GetString()!, Status: r.GetProperty("status").GetInt32())).ToList();
        Assert.Equal(
            ["discovery", "/cds-services/healthrec-patient-risk patient-view", "/cds-services/healthrec-order-select order-select",
                "/cds-services/healthrec-order-sign order-sign", "feedback"],
            answers.Select(a => a.What));
        Assert.All(answers, a => Assert.True(a.Status == 200, $"{a.What}: {a.Status}"));
        Assert.True(results[1].GetProperty("cards").GetInt32() > 0, "patient-view returned no card");
    }

    [Fact]
    public async Task GivenAPreflightFromAnotherOrigin_WhenAsked_ThenAuthorizationAndContentTypeAreAllowedAndNoCookies()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative));
        request.Headers.Add("Origin", "https://sandbox.cds-hooks.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        using var response = await fixture.Server.Client.SendAsync(request, Ct);

        Assert.Equal(204, (int)response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        var allowed = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("authorization", allowed, StringComparison.Ordinal);
        Assert.Contains("content-type", allowed, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));

        // The staff and SMART pages, which use cookies, are not opened to other origins.
        using var staff = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/worklist", UriKind.Relative));
        staff.Headers.Add("Origin", "https://sandbox.cds-hooks.example");
        staff.Headers.Add("Access-Control-Request-Method", "GET");
        using var refused = await fixture.Server.Client.SendAsync(staff, Ct);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
