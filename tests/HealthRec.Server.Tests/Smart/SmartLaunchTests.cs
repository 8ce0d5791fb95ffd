using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Testing;

namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// SMART App Launch against a real authorization server (oidc-provider, in the FHIR test server's process under /oauth)
/// whose sign-in and consent are automated: EHR and standalone launches end on the patient's view with the models'
/// estimates; denied consent, a wrong state and a PKCE verifier that does not match each end on a page that says so,
/// with no token used; the access token never reaches the browser or a log.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed partial class SmartLaunchTests : IAsyncLifetime
{
    private readonly FakeLogCollector _logs = new();
    private RunningServer _server = null!;
    private PatientFixture _patient = null!;

    private static string Iss => SmartEhr.Iss;

    private static Uri Fhir(string path) => SmartEhr.Fhir(path);

    // Where the EHR sends the browser for an EHR launch, and the app's address without a launch (no session there).
    private Uri EhrLaunch(string launch) => SmartEhr.EhrLaunch(_server, launch);

    private Uri App => new(_server.BaseAddress, "/smart/app");

    public async ValueTask InitializeAsync()
    {
        _patient = PatientFixture.HighRisk();
        await _patient.LoadAsync(Ct);
        await SmartEhr.PolicyAsync(deny: false);
        _server = await StartRegisteredAsync("none");
    }

    // HealthRec registered with the EHR and started with that client: public ("none") or confidential (a secret or a key pair).
    private async Task<RunningServer> StartRegisteredAsync(string authentication, Func<string, string>? secret = null,
        (JsonObject PublicJwk, string PrivatePem)? keys = null)
    {
        var settings = await SmartEhr.RegisterAsync(authentication, keys: keys);
        if (secret is not null && settings.TryGetValue("Smart:Clients:0:ClientSecret", out var issued))
        {
            settings["Smart:Clients:0:ClientSecret"] = secret(issued!);
        }

        return await RunningServer.StartAsync(settings, Ct, builder => builder.Logging.AddProvider(new FakeLoggerProvider(_logs)));
    }

    private async Task RestartAsync(string authentication, Func<string, string>? secret = null, (JsonObject PublicJwk, string PrivatePem)? keys = null)
    {
        await _server.DisposeAsync();
        _server = await StartRegisteredAsync(authentication, secret, keys);
    }

    // A key pair, EC P-384 (ES384) or RSA 2048 (RS384): the public JWK an EHR registers, and the PEM HealthRec is
    // configured with; the JWK can be made from another key (one the EHR registered that HealthRec does not hold).
    private static (JsonObject PublicJwk, string PrivatePem) KeyPair(string algorithm, string kid, System.Security.Cryptography.AsymmetricAlgorithm? publicFrom = null)
    {
        static string B64(byte[]? bytes) => Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(bytes);
        if (algorithm == "RS384")
        {
            using var rsa = System.Security.Cryptography.RSA.Create(2048);
            var parameters = ((System.Security.Cryptography.RSA?)publicFrom ?? rsa).ExportParameters(false);
            return (new JsonObject { ["kty"] = "RSA", ["kid"] = kid, ["alg"] = "RS384", ["use"] = "sig", ["n"] = B64(parameters.Modulus), ["e"] = B64(parameters.Exponent) },
                rsa.ExportPkcs8PrivateKeyPem());
        }

        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        var point = ((System.Security.Cryptography.ECDsa?)publicFrom ?? key).ExportParameters(false).Q;
        return (new JsonObject { ["kty"] = "EC", ["crv"] = "P-384", ["kid"] = kid, ["alg"] = "ES384", ["use"] = "sig", ["x"] = B64(point.X), ["y"] = B64(point.Y) },
            key.ExportPkcs8PrivateKeyPem());
    }

    public async ValueTask DisposeAsync()
    {
        await SmartEhr.PolicyAsync(deny: false);
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task GivenAnEhrLaunch_WhenTheClinicianIsSignedIn_ThenTheViewShowsTheModelsEstimatesAndTheTokenStaysOnTheServer()
    {
        var launch = await SmartEhr.LaunchAsync(_patient.Id, needBanner: false);
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(launch));

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        Assert.Matches("^/smart/app/[A-Za-z0-9_-]{22}$", visit.Urls[^1].AbsolutePath);
        var authorize = QueryHelpers.ParseQuery(visit.Urls.First(u => u.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal)).Query);
        Assert.Equal("S256", (string?)authorize["code_challenge_method"]);
        Assert.Equal(launch, (string?)authorize["launch"]);
        Assert.Equal(Iss, (string?)authorize["aud"]);
        Assert.True(((string?)authorize["state"])!.Length >= 43, "state carries fewer than 256 bits");
        Assert.Contains("patient/Observation.rs", (string?)authorize["scope"], StringComparison.Ordinal);
        Assert.Contains("launch", ((string?)authorize["scope"])!.Split(' '));

        // The view is this patient's, with the models' estimates, and no banner (the EHR shows its own).
        var html = visit.Body;
        Assert.Contains($"data-patient=\"{_patient.Id}\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<header class=\"banner\"", html, StringComparison.Ordinal);
        var at = DateTimeOffset.Parse(WebUtility.HtmlDecode(Regex.Match(html, "data-at=\"([^\"]+)\"").Groups[1].Value), CultureInfo.InvariantCulture);
        var shown = Estimates().Matches(html).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.NotEmpty(shown);
        using (var lease = _server.Services.GetRequiredService<ModelCatalog>().Lease())
        {
            var record = await RecordAsync(_patient.Id);
            foreach (var (outcome, estimate) in shown)
            {
                Assert.Equal(lease.Models.Predictors[outcome].Predict(record, at)!.Estimate, estimate);
            }
        }

        // The FHIR reads carried a token the EHR issued; that token is in no response the browser got, no cookie and no log.
        var reads = (await SmartEhr.RequestLogAsync()).Where(r => ((string)r!["url"]!).Contains(_patient.Id, StringComparison.Ordinal)
            && ((string?)r["authorization"])?.StartsWith("Bearer ", StringComparison.Ordinal) == true).ToList();
        Assert.NotEmpty(reads);
        var token = ((string)reads[^1]!["authorization"]!)["Bearer ".Length..];
        Assert.True(await SmartEhr.ActiveAsync(token), "the FHIR reads did not carry a token the EHR issued");
        Assert.All(visit.Bodies, body => Assert.DoesNotContain(token, body, StringComparison.Ordinal));
        Assert.All(browser.Cookies, cookie => Assert.DoesNotContain(token, cookie, StringComparison.Ordinal));
        Assert.All(browser.Cookies, cookie => Assert.False(SmartEhr.ActiveAsync(cookie).GetAwaiter().GetResult(), "a cookie holds a valid token"));
        Assert.DoesNotContain(_logs.GetSnapshot(), r => r.Message.Contains(token, StringComparison.Ordinal) || (r.Exception?.ToString().Contains(token, StringComparison.Ordinal) ?? false));

        // The audit trail holds the launch, the token exchange and the view, each naming the EHR, the app and the
        // patient (after the exchange) — and not the token.
        var audit = await (await _server.AuditAsync(Ct)).ReadAsync(Ct).ToListAsync(Ct);
        foreach (var subtype in new[] { "smart-launch", "smart-token", "smart-view" })
        {
            var record = audit.Last(r => r.ResourceJson.Contains($"\"code\":\"{subtype}\"", StringComparison.Ordinal));
            var resource = (Hl7.Fhir.Model.AuditEvent)System.Text.Json.JsonSerializer.Deserialize<Hl7.Fhir.Model.Resource>(record.ResourceJson, HealthRec.Fhir.FhirJson.Options)!;
            Assert.Equal(Hl7.Fhir.Model.AuditEvent.AuditEventOutcome.N0, resource.Outcome);
            Assert.Contains(resource.Entity, e => e.What?.Identifier?.Value == Iss);
            Assert.Contains(resource.Agent, a => a.Who?.Identifier?.Value is { Length: > 0 } && a.Type?.Coding.Any(c => c.Code == "110150") == true);
            Assert.Equal(subtype != "smart-launch", resource.Entity.Any(e => e.What?.Reference == $"Patient/{_patient.Id}"));
            // Once the EHR's id_token is verified, the clinician it names (fhirUser) is who read the record, the requestor.
            var requestor = Assert.Single(resource.Agent, a => a.Requestor == true);
            Assert.Equal(subtype == "smart-launch" ? null : "Practitioner/practitioner-1", requestor.Who?.Reference);
        }

        Assert.All(audit, r => Assert.DoesNotContain(token, r.ResourceJson, StringComparison.Ordinal));
        ProfileValidation.AssertAuditRecordsValid(audit);
    }

    [Fact]
    public async Task GivenAnEhrLaunchInChromium_WhenThePageRenders_ThenItShowsTheModelsEstimatesAnswersWhatIfAndIsSavedAsAScreenshot()
    {
        var chromium = SmartEhr.ChromiumPath();
        // A generated patient, records up to today, on the FHIR test server.
        var folder = Directory.CreateTempSubdirectory("healthrec-smart-");
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await new HealthRec.Fhir.Synthetic.CohortGenerator(new HealthRec.Fhir.Synthetic.CohortOptions { Patients = 12, Seed = 20261205, Start = today.AddYears(-10), Years = 10, ErrorRate = 0 })
            .WriteAsync(folder.FullName, HealthRec.Fhir.Synthetic.SyntheticFormat.Ndjson, null, "test", Ct);
        var resources = Directory.GetFiles(folder.FullName, "*.ndjson").SelectMany(File.ReadLines)
            .Select(line => HealthRec.Fhir.FhirJson.TryParse(line, "generated", new IngestionReport())!).ToList();
        folder.Delete(recursive: true);
        var id = resources.OfType<Hl7.Fhir.Model.Patient>().First(p => p.Deceased is null).Id!;
        var generated = new PatientFixture("male", 50);
        generated.Resources.Clear();
        generated.Resources.AddRange(resources.Where(r => (r is Hl7.Fhir.Model.Patient p ? p.Id : PatientReference.SubjectKeyOf(r)) == id));
        await generated.LoadAsync(Ct);
        var launch = await SmartEhr.LaunchAsync(id, needBanner: true);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        // The narrowest frame an EHR gives an embedded app.
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 800, Height = 1200 } });

        var response = await page.GotoAsync(EhrLaunch(launch).AbsoluteUri);

        Assert.Equal(200, response!.Status);
        Assert.Matches("^/smart/app/[A-Za-z0-9_-]{22}$", new Uri(page.Url).AbsolutePath);
        var at = DateTimeOffset.Parse(await page.Locator("main").GetAttributeAsync("data-at") ?? "", CultureInfo.InvariantCulture);
        var record = await RecordAsync(id);
        // Estimates; an outcome whose equation gives this patient no number has its own panel saying why.
        var panels = page.Locator("section.panel[data-estimate]");
        Assert.True(await panels.CountAsync() > 0, "no risk panel rendered");
        using (var lease = _server.Services.GetRequiredService<ModelCatalog>().Lease())
        {
            var models = lease.Models;
            var features = models.Featurizer.Featurize(record, at);
            var predictions = models.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal)
                .Select(p => p.Predict(record, at, features)).OfType<ML.Serving.RiskPrediction>().ToList();
            Assert.Equal(predictions.Count, await panels.CountAsync());
            Assert.Equal(models.Estimate(record, at).NotEstimated.Select(x => x.Predictor.Definition.Id),
                await page.Locator("section.panel[data-not-estimated]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.outcome)"));
            for (var i = 0; i < predictions.Count; i++)
            {
                var prediction = predictions[i];
                Assert.Equal(prediction.Outcome, await panels.Nth(i).GetAttributeAsync("data-outcome"));
                Assert.Equal(prediction.Kind == Clinical.Outcomes.OutcomeKind.Binary
                    ? HealthRec.Server.CdsHooks.PatientRiskCards.Percent(prediction.Estimate) : prediction.Estimate.ToString("0.0", CultureInfo.InvariantCulture) + " %",
                    await panels.Nth(i).Locator(".estimate").InnerTextAsync());
                var factors = panels.Nth(i).Locator("li[data-factor]");
                Assert.Equal(prediction.Factors.Count, await factors.CountAsync());
                for (var f = 0; f < prediction.Factors.Count; f++)
                {
                    Assert.StartsWith(prediction.Factors[f].Text, await factors.Nth(f).InnerTextAsync(), StringComparison.Ordinal);
                }
            }

            // The suggestions are the recommender's, in its order.
            var suggested = models.Recommender.Recommend(ML.Recommendation.PatientSnapshot.From(record, at, features, models.Featurizer, predictions), 5);
            var shown = page.Locator("li[data-suggestion]");
            Assert.Equal(suggested.Recommendations.Count, await shown.CountAsync());
            for (var r = 0; r < suggested.Recommendations.Count; r++)
            {
                Assert.Equal(suggested.Recommendations[r].Intervention.Id, await shown.Nth(r).GetAttributeAsync("data-suggestion"));
                Assert.Contains(suggested.Recommendations[r].Intervention.Title, await shown.Nth(r).InnerTextAsync(), StringComparison.Ordinal);
            }
        }

        Assert.True(await page.Locator("header.banner").IsVisibleAsync(), "the patient banner is missing");

        // Keyboard: Tab reaches the controls, and the what-if form works from the keyboard in the browser.
        await page.Keyboard.PressAsync("Tab");
        Assert.Contains(await page.EvaluateAsync<string>("document.activeElement.tagName"), new[] { "A", "INPUT", "BUTTON", "SUMMARY" });
        await page.Locator("input[name=sbp]").FillAsync("118");
        await page.Locator("input[name=sbp]").PressAsync("Enter");
        await page.WaitForURLAsync("**/smart/app/*?*sbp=118*");
        Assert.True(await page.Locator("table[data-whatif]").IsVisibleAsync(), "the what-if answer is missing");

        var artifacts = Directory.CreateDirectory(Path.Combine(TestServices.RepositoryRoot, "tests", "artifacts")).FullName;
        var screenshot = Path.Combine(artifacts, "smart-patient-view.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 20_000, "the screenshot is empty");
        TestContext.Current.SendDiagnosticMessage($"screenshot: {screenshot}");
    }

    [Fact]
    public async Task GivenAnEhrOfferingOnlyV1Scopes_WhenLaunched_ThenTheV1FormsAreAskedFor()
    {
        await SmartEhr.PolicyAsync(deny: false, v1Only: true);
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        var scope = ((string?)QueryHelpers.ParseQuery(visit.Urls.First(u => u.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal)).Query)["scope"])!.Split(' ');
        Assert.Contains("patient/Observation.read", scope);
        Assert.DoesNotContain(scope, s => s.EndsWith(".rs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenAnAccessTokenThatExpires_WhenTheViewIsOpenedAgain_ThenItIsRefreshedAndTheNewTokenReadsTheRecord()
    {
        await SmartEhr.PolicyAsync(deny: false, accessTokenTtl: 1);
        using var browser = new Browser();
        var first = await browser.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));
        Assert.Equal(HttpStatusCode.OK, first.Final.StatusCode);
        await Task.Delay(1500, Ct);

        var again = await browser.FollowAsync(first.Urls[^1]);

        Assert.Equal(HttpStatusCode.OK, again.Final.StatusCode);
        // A token lives one second here: each view was read with a new one, got with the refresh token.
        var tokens = (await SmartEhr.RequestLogAsync()).Where(r => ((string)r!["url"]!).Contains($"Patient/{_patient.Id}", StringComparison.Ordinal))
            .Select(r => (string?)r!["authorization"]).OfType<string>().Distinct().ToList();
        Assert.True(tokens.Count >= 2, $"the record was read with {tokens.Count} token(s): no refresh happened");
    }

    [Fact]
    public async Task GivenALaunchFromACardsLink_WhenTheViewOpens_ThenItSaysWhichCardOpenedIt()
    {
        var (status, body, _) = await Cds.PatientViewAsync(_server.Client, _patient.Call(prefetch: _patient.Prefetch()), Ct);
        Assert.Equal(200, status);
        var card = Cds.Cards(body).First(c => c!["links"] is not null)!;
        var appContext = (string)card["links"]!.AsArray().Single(l => (string)l!["type"]! == "smart")!["appContext"]!;
        await _server.StoredCallsAsync(Ct);
        using var http = new HttpClient();
        var launch = (string)(await (await http.PostAsync(Fhir($"/__admin/launch?patient={_patient.Id}&appContext={Uri.EscapeDataString(appContext)}"), null, Ct))
            .Content.ReadFromJsonAsync<JsonNode>(Ct))!["launch"]!;
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(launch));

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        Assert.Contains($"data-opened-from=\"{(string)card["uuid"]!}\"", visit.Body, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode((string)card["summary"]!), visit.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAStandaloneLaunch_WhenThePatientIsPicked_ThenTheViewIsThatPatientsWithItsBanner()
    {
        await SmartEhr.PolicyAsync(deny: false, standalonePatient: _patient.Id);
        using var browser = new Browser();

        var visit = await browser.FollowAsync(new Uri(_server.BaseAddress, $"/smart/login?iss={Uri.EscapeDataString(Iss)}"));

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        var scope = (string?)QueryHelpers.ParseQuery(visit.Urls.First(u => u.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal)).Query)["scope"];
        Assert.Contains("launch/patient", scope!.Split(' '));
        Assert.Contains($"data-patient=\"{_patient.Id}\"", visit.Body, StringComparison.Ordinal);
        Assert.Contains("<header class=\"banner\"", visit.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenDeniedConsent_WhenTheEhrAnswers_ThenAPageSaysAccessWasNotGrantedAndNothingIsRead()
    {
        await SmartEhr.PolicyAsync(deny: true);
        var launch = await SmartEhr.LaunchAsync(_patient.Id, needBanner: true);
        var readsBefore = await ReadsOfPatientAsync();
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(launch));

        Assert.Equal(HttpStatusCode.Forbidden, visit.Final.StatusCode);
        Assert.Contains("Access to the record was not granted", visit.Body, StringComparison.Ordinal);
        // The EHR's own explanation, as it gave it.
        Assert.Contains("access_denied", visit.Body, StringComparison.Ordinal);
        Assert.Contains("The user did not allow HealthRec to read this record", visit.Body, StringComparison.Ordinal);
        Assert.Equal(readsBefore, await ReadsOfPatientAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.FollowAsync(App)).Final.StatusCode);
    }

    [Fact]
    public async Task GivenACallbackWhoseStateDiffers_WhenItArrives_ThenTheSignInIsRefusedBeforeAnyTokenExchange()
    {
        var launch = await SmartEhr.LaunchAsync(_patient.Id, needBanner: true);
        using var browser = new Browser();
        var exchangesBefore = await TokenRequestsAsync();

        var visit = await browser.FollowAsync(EhrLaunch(launch),
            url => url.AbsolutePath.EndsWith("/smart/callback", StringComparison.Ordinal) ? new Uri(Regex.Replace(url.AbsoluteUri, "state=[^&]+", "state=forged")) : url);

        Assert.Equal(HttpStatusCode.BadRequest, visit.Final.StatusCode);
        Assert.Contains("The sign-in could not be verified", visit.Body, StringComparison.Ordinal);
        Assert.Equal(exchangesBefore, await TokenRequestsAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.FollowAsync(App)).Final.StatusCode);
    }

    [Fact]
    public async Task GivenACodeChallengeReplacedOnTheWay_WhenTheCodeIsExchanged_ThenTheEhrRefusesItAndNoSessionStarts()
    {
        var launch = await SmartEhr.LaunchAsync(_patient.Id, needBanner: true);
        using var browser = new Browser();
        var forged = SmartChallenge("a-verifier-the-attacker-knows-and-healthrec-does-not-0123456789");

        var visit = await browser.FollowAsync(EhrLaunch(launch),
            url => url.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal) ? new Uri(Regex.Replace(url.AbsoluteUri, "code_challenge=[^&]+", $"code_challenge={forged}")) : url);

        Assert.Equal(HttpStatusCode.BadRequest, visit.Final.StatusCode);
        Assert.Contains("The EHR did not accept the sign-in", visit.Body, StringComparison.Ordinal);
        Assert.Contains("invalid_grant", visit.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.FollowAsync(App)).Final.StatusCode);
    }

    [Fact]
    public async Task GivenALaunchFromAnUnknownEhr_WhenItArrives_ThenItIsRefusedWithAPageNamingTheSetting()
    {
        using var browser = new Browser();

        var visit = await browser.FollowAsync(new Uri(_server.BaseAddress, "/smart/launch?iss=https%3A%2F%2Fehr.example.org%2Ffhir&launch=abc"));

        Assert.Equal(HttpStatusCode.BadRequest, visit.Final.StatusCode);
        Assert.Single(visit.Urls);
        Assert.Contains("HealthRec is not registered with this EHR", visit.Body, StringComparison.Ordinal);
        Assert.Contains("Smart:Clients", visit.Body, StringComparison.Ordinal);
    }

    private Task<Clinical.Records.PatientRecord> RecordAsync(string id) => PatientViewTests.ReadRecordAsync(_server, id, Ct);

    private async Task<int> ReadsOfPatientAsync() =>
        (await SmartEhr.RequestLogAsync()).Count(r => ((string)r!["url"]!).Contains(_patient.Id, StringComparison.Ordinal) && (string)r["method"]! == "GET");

    private static async Task<int> TokenRequestsAsync() => (await SmartEhr.TokenRequestsAsync()).Count;

    private static string SmartChallenge(string verifier) =>
        Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));

    [GeneratedRegex("data-outcome=\"([^\"]+)\" data-estimate=\"([^\"]+)\"")]
    private static partial Regex Estimates();
}
