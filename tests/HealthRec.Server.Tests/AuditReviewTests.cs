using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests;

/// <summary>Staff sign-in and roles on every staff path, and the audit trail's FHIR search, paging and export as an auditor uses them.</summary>
[Collection(SequentialServers.Name)]
public sealed class AuditReviewTests(StaffServer fixture) : IClassFixture<StaffServer>
{
    private async Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await fixture.Server.Client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task GivenStaffSignIn_WhenEachRoleCallsEachStaffPath_ThenOnlyItsRolesGetInAndEveryAttemptIsRecorded()
    {
        var admin = await StaffServer.TokenAsync("staff-admin", Ct);
        var auditor = await StaffServer.TokenAsync("staff-auditor", Ct);
        var clinician = await StaffServer.TokenAsync("staff-clinician", Ct);
        var norole = await StaffServer.TokenAsync("staff-norole", Ct);
        // A token shaped exactly like the authority's, signed with a key it never published.
        using var rsa = RSA.Create(2048);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = StaffServer.Authority.AbsoluteUri,
            Audience = "api://healthrec-staff",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["roles"] = new[] { "Auditor" }, ["sub"] = "staff-auditor" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256),
        });

        // path: who gets in (the rest of the staff get 403; no sign-in, a forged token or no role: 401).
        var matrix = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["/audit/AuditEvent"] = ["auditor"],
            ["/audit/GuidanceResponse"] = ["auditor"],
            ["/admin/audit/verify"] = ["admin", "auditor"],
            ["/admin/models"] = ["admin"],
            ["/admin/cds-feedback"] = ["admin"],
            ["/api/runs"] = ["admin", "clinician"],
            ["/hangfire"] = ["admin", "auditor", "clinician"],
        };
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal) { ["admin"] = admin, ["auditor"] = auditor, ["clinician"] = clinician };
        foreach (var (path, allowed) in matrix)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path, null)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(path, forged)).StatusCode);
            Assert.NotEqual(HttpStatusCode.OK, (await GetAsync(path, norole)).StatusCode);
            foreach (var (role, token) in tokens)
            {
                using var response = await GetAsync(path, token);
                Assert.True((allowed.Contains(role) ? HttpStatusCode.OK : HttpStatusCode.Forbidden) == response.StatusCode,
                    $"{role} on {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            }
        }

        // The dashboard: everyone with a staff role reads it; only an admin may act in it.
        var adminPage = await (await GetAsync("/hangfire/recurring", admin)).Content.ReadAsStringAsync(Ct);
        var clinicianPage = await (await GetAsync("/hangfire/recurring", clinician)).Content.ReadAsStringAsync(Ct);
        Assert.Contains(AuditEndpoints.VerifyJobName, clinicianPage, StringComparison.Ordinal);
        Assert.Contains("js-jobs-list-command", adminPage, StringComparison.Ordinal);
        Assert.DoesNotContain("js-jobs-list-command", clinicianPage, StringComparison.Ordinal);

        // Each attempt is in the trail: the clinician's refusal on /audit, with who, the roles and the path.
        var search = JsonNode.Parse(await (await GetAsync("/audit/AuditEvent?subtype=staff-access&agent=staff-clinician&outcome=4&_count=100", auditor))
            .Content.ReadAsStringAsync(Ct))!;
        var refusals = search["entry"]!.AsArray().Select(e => e!["resource"]!).ToList();
        Assert.Contains(refusals, r => r["entity"]!.AsArray().Any(e => (string?)e!["name"] == "GET /audit/AuditEvent")
            && r["agent"]!.AsArray().Any(a => a!["role"]?.AsArray().Any(role => (string?)role!["text"] == "Clinician") == true));
        var anonymous = JsonNode.Parse(await (await GetAsync("/audit/AuditEvent?subtype=staff-access&outcome=4&_count=1000", auditor)).Content.ReadAsStringAsync(Ct))!;
        Assert.True((int)anonymous["total"]! >= matrix.Count * 3, $"{anonymous["total"]} refusals recorded; expected at least {matrix.Count * 3}");
        ProfileValidation.AssertAuditRecordsValid(await (await fixture.Server.AuditAsync(Ct)).ReadAsync(Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task GivenRecordsOfSeveralPatientsDaysAndPeople_WhenSearchedByEachParameter_ThenExactlyTheMatchingOnesComeBackPagedAndExported()
    {
        var trail = fixture.Server.Services.GetRequiredService<AuditTrail>();
        var run = Guid.NewGuid().ToString("N")[..8];
        var day = new DateTimeOffset(2020, 3, 10, 9, 0, 0, TimeSpan.Zero);
        var made = new List<AuditEvent>();
        for (var i = 0; i < 12; i++)
        {
            var at = day.AddDays(i % 3).AddMinutes(i);
            var audit = AuditEvents.New(i % 2 == 0 ? AuditEvents.Rest : AuditEvents.ApplicationActivity, i % 4 == 0 ? "job-run" : "cds-call",
                    i % 3 == 0 ? AuditEvent.AuditEventAction.R : AuditEvent.AuditEventAction.E, at,
                    i == 5 ? AuditOutcome.Failed("test failure") : AuditOutcome.Success, $"req-{run}-{i}")
                .User($"Practitioner/{run}-{i % 2}", null)
                .Patient($"{run}-p{i % 3}")
                .Thing("urn:test", $"{run}-thing-{i % 4}");
            made.Add(audit);
        }

        await trail.RecordAsync(made);
        var auditor = await StaffServer.TokenAsync("staff-auditor", Ct);

        async Task<List<string>> IdsAsync(string query)
        {
            var ids = new List<string>();
            var next = $"/audit/AuditEvent?{query}&_count=4";
            var pages = 0;
            long? total = null;
            while (next is not null)
            {
                using var response = await GetAsync(next, auditor);
                var bundle = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
                Assert.True(response.StatusCode == HttpStatusCode.OK, bundle.ToJsonString());
                Assert.Equal("searchset", (string?)bundle["type"]);
                total ??= (long)bundle["total"]!;
                ids.AddRange(bundle["entry"]!.AsArray().Select(e => (string)e!["resource"]!["id"]!));
                next = bundle["link"]!.AsArray().FirstOrDefault(l => (string?)l!["relation"] == "next")?["url"] is { } url ? new Uri((string)url!).PathAndQuery : null;
                Assert.True(++pages < 10, "paging does not end");
            }

            Assert.Equal(total, ids.Count);
            Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
            return ids;
        }

        List<string> Expected(Func<int, AuditEvent, bool> match) => [.. made.Select((a, i) => (a, i)).Where(x => match(x.i, x.a)).Select(x => x.a.Id!).Reverse()];

        Assert.Equal(Expected((i, _) => i % 3 == 1), await IdsAsync($"patient={run}-p1"));
        Assert.Equal(Expected((i, _) => i % 3 == 1), await IdsAsync($"patient=Patient/{run}-p1"));
        Assert.Equal(Expected((i, _) => i % 3 is 1 or 2), await IdsAsync($"patient={run}-p1,{run}-p2"));
        Assert.Equal(Expected((i, _) => i % 2 == 1), await IdsAsync($"agent=Practitioner/{run}-1"));
        Assert.Equal(Expected((i, _) => i % 4 == 2), await IdsAsync($"entity=urn:test|{run}-thing-2"));
        Assert.Equal(Expected((i, _) => i % 3 == 0 && i % 2 == 0), await IdsAsync($"patient={run}-p0&action=R&type=rest"));
        Assert.Equal(Expected((i, _) => i == 5), await IdsAsync($"request=req-{run}-0,req-{run}-5&outcome=4"));
        Assert.Equal(Expected((i, _) => i % 4 == 0), await IdsAsync($"request={string.Join(",", Enumerable.Range(0, 12).Select(i => $"req-{run}-{i}"))}&subtype=job-run"));
        Assert.Equal(Expected((i, _) => i % 2 == 1), await IdsAsync($"agent=Practitioner/{run}-1&type=http://dicom.nema.org/resources/ontology/DCM|110100"));
        // Dates: each day holds four records; the 11th with eq, from the 11th with ge, after the 11th with gt, before it with lt.
        var mine = $"agent=Practitioner/{run}-0,Practitioner/{run}-1";
        Assert.Equal(Expected((i, _) => i % 3 == 1), await IdsAsync($"{mine}&date=2020-03-11"));
        Assert.Equal(Expected((i, _) => i % 3 >= 1), await IdsAsync($"{mine}&date=ge2020-03-11"));
        Assert.Equal(Expected((i, _) => i % 3 == 2), await IdsAsync($"{mine}&date=gt2020-03-11"));
        Assert.Equal(Expected((i, _) => i % 3 == 0), await IdsAsync($"{mine}&date=lt2020-03-11"));
        Assert.Equal(Expected((i, _) => i % 3 <= 1), await IdsAsync($"{mine}&date=le2020-03-11"));
        Assert.Equal(Expected((i, a) => a.Recorded >= day.AddDays(1).AddMinutes(4) && i % 3 == 1), await IdsAsync($"{mine}&date=ge2020-03-11T09:04:00Z&date=lt2020-03-12"));
        Assert.Equal(Expected((_, _) => true), await IdsAsync($"{mine}&date=2020-03"));
        Assert.Empty(await IdsAsync($"{mine}&date=2021"));

        // Export: every match, oldest first, one resource a line.
        using var export = await GetAsync($"/audit/AuditEvent?{mine}&outcome=0&_format=ndjson", auditor);
        Assert.Equal("application/fhir+ndjson", export.Content.Headers.ContentType?.MediaType);
        var lines = (await export.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(made.Where((_, i) => i != 5).Select(a => a.Id), lines.Select(l => (string)JsonNode.Parse(l)!["id"]!));

        // Bad requests say what is wrong.
        foreach (var (query, words) in new[] { ("colour=red", "'colour' is not a search parameter"), ("date=yesterday", "date 'yesterday'"), ("_count=0", "_count"), ("_count=5000", "_count") })
        {
            using var bad = await GetAsync($"/audit/AuditEvent?{query}", auditor);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains(words, await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("staff-clinician", "/console", HttpStatusCode.OK)]
    [InlineData("staff-clinician", "/console/worklist", HttpStatusCode.OK)]
    [InlineData("staff-clinician", "/console/runs", HttpStatusCode.OK)]
    [InlineData("staff-clinician", "/console/models", HttpStatusCode.Forbidden)]
    [InlineData("staff-clinician", "/console/usage", HttpStatusCode.Forbidden)]
    [InlineData("staff-auditor", "/console", HttpStatusCode.OK)]
    [InlineData("staff-auditor", "/console/runs", HttpStatusCode.Forbidden)]
    [InlineData("staff-auditor", "/console/models/t2d-5y", HttpStatusCode.Forbidden)]
    [InlineData(null, "/console", HttpStatusCode.Unauthorized)]
    public async Task GivenAStaffRole_WhenAConsolePageIsOpened_ThenOnlyTheRolesOfThatPageGetIt(string? client, string path, HttpStatusCode expected)
    {
        var token = client is null ? null : await StaffServer.TokenAsync(client, Ct);

        using var response = await GetAsync(path, token);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task GivenStaffRequestsAnsweredWithErrorsAndDashboardPolls_WhenReviewed_ThenTheTrueOutcomeShowsAndPollsAreHiddenUnlessAsked()
    {
        var clinician = await StaffServer.TokenAsync("staff-clinician", Ct);
        var marker = Guid.NewGuid().ToString("N");
        using (var missing = await GetAsync($"/api/runs/run-{marker}", clinician))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var poll = await GetAsync($"/hangfire/fonts/{marker}", clinician))
        {
            // Whatever Hangfire answers for the asset, the access is recorded as routine.
        }

        var auditor = await StaffServer.TokenAsync("staff-auditor", Ct);
        var html = System.Net.WebUtility.HtmlDecode(await (await GetAsync("/audit/review?agent=staff-clinician", auditor)).Content.ReadAsStringAsync(Ct));
        var row = html[html.IndexOf($"GET /api/runs/run-{marker}", StringComparison.Ordinal)..];
        row = row[..row.IndexOf("</tr>", StringComparison.Ordinal)];
        Assert.Contains("data-result=\"refused\"", row, StringComparison.Ordinal);
        Assert.Contains("answered 404", row, StringComparison.Ordinal);
        Assert.DoesNotContain($"/hangfire/fonts/{marker}", html, StringComparison.Ordinal);

        var withRoutine = System.Net.WebUtility.HtmlDecode(await (await GetAsync("/audit/review?agent=staff-clinician&routine=1", auditor)).Content.ReadAsStringAsync(Ct));
        Assert.Contains($"GET /hangfire/fonts/{marker}", withRoutine, StringComparison.Ordinal);
        // Still in the trail as a search finds it.
        var search = JsonNode.Parse(await (await GetAsync("/audit/AuditEvent?subtype=staff-routine&agent=staff-clinician&_count=100", auditor)).Content.ReadAsStringAsync(Ct))!;
        Assert.Contains(search["entry"]!.AsArray(), e => e!["resource"]!.ToJsonString().Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenACdsCallForAPatient_WhenAnAuditorOpensTheReviewForThatPatient_ThenTheTimelineShowsTheCallAndEachCardAsShown()
    {
        var patient = CdsHooks.PatientFixture.HighRisk();
        var call = patient.Call(prefetch: patient.Prefetch());
        call["context"]!["userId"] = "Practitioner/reviewed-1";
        var answer = await CdsHooks.Cds.PatientViewAsync(fixture.Server.Client, call, Ct);
        Assert.True(answer.Status == 200, answer.Text);
        var cards = CdsHooks.Cds.Cards(answer.Body);
        Assert.NotEmpty(cards);
        var auditor = await StaffServer.TokenAsync("staff-auditor", Ct);

        using var page = await GetAsync($"/audit/review?patient={patient.Id}", auditor);
        var html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("default-src 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("CDS Hooks service call", html, StringComparison.Ordinal);
        Assert.Contains("Practitioner/reviewed-1", html, StringComparison.Ordinal);
        Assert.Contains("Decision (GuidanceResponse)", html, StringComparison.Ordinal);
        foreach (var card in cards)
        {
            Assert.Contains($"data-card=\"{(string)card!["uuid"]!}\"", html, StringComparison.Ordinal);
            Assert.Contains($"<div class=\"summary\">{(string)card["summary"]!}</div>", System.Net.WebUtility.HtmlDecode(html), StringComparison.Ordinal);
            // As the EHR shows it: the detail rendered from Markdown (bold as <strong>, no raw asterisks), each suggestion as a button.
            var detail = (string)card["detail"]!;
            Assert.Contains("<strong>", HealthRec.Server.Hosting.MarkdownHtml.Render(detail), StringComparison.Ordinal);
            Assert.Contains(HealthRec.Server.Hosting.MarkdownHtml.Render(detail).Trim(), html, StringComparison.Ordinal);
            foreach (var suggestion in card["suggestions"]?.AsArray() ?? [])
            {
                Assert.Contains($"<span class=\"suggestion\" data-suggestion>{System.Net.WebUtility.HtmlEncode((string)suggestion!["label"]!)}</span>", html, StringComparison.Ordinal);
            }
        }

        Assert.DoesNotContain("<pre>**", html, StringComparison.Ordinal);
        // The export holds what the page shows: the same filters, the dashboard's assets and polls left out as on the page.
        Assert.Contains(System.Net.WebUtility.HtmlEncode($"/audit/AuditEvent?patient={patient.Id}&subtype%3Anot=staff-routine&_format=ndjson"), html, StringComparison.Ordinal);
        using var bad = await GetAsync("/audit/review?from=yesterday", auditor);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("date 'geyesterday'", System.Net.WebUtility.HtmlDecode(await bad.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync($"/audit/review?patient={patient.Id}", await StaffServer.TokenAsync("staff-clinician", Ct))).StatusCode);
    }

    [Fact]
    public async Task GivenBrowserSignIn_WhenStaffOpenTheReviewPageInABrowser_ThenTheySignInAtTheAuthorityAndTheirRolesDecide()
    {
        // The web client is registered at the authority with this server's redirect URI, so the port is chosen first.
        var port = FreePort();
        using var http = new HttpClient();
        using var registration = await http.PostAsJsonAsync(new Uri(StaffServer.Authority.AbsoluteUri + "/reg"), new Dictionary<string, object>
        {
            ["redirect_uris"] = new[] { $"http://127.0.0.1:{port}/signin-oidc" },
            ["grant_types"] = new[] { "authorization_code" },
            ["response_types"] = new[] { "code" },
            ["token_endpoint_auth_method"] = "client_secret_basic",
            ["client_name"] = "HealthRec staff sign-in (test)",
        }, Ct);
        var client = JsonNode.Parse(await registration.Content.ReadAsStringAsync(Ct))!;
        Assert.True(registration.IsSuccessStatusCode, client.ToJsonString());
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["Staff:Authority"] = StaffServer.Authority.AbsoluteUri,
            ["Staff:ClientId"] = "healthrec-staff",
            ["Staff:WebClientId"] = (string)client["client_id"]!,
            ["Staff:WebClientSecret"] = (string)client["client_secret"]!,
        }, Ct);
        try
        {
            foreach (var (account, expected) in new[] { ("auditor-1", HttpStatusCode.OK), ("clinician-1", HttpStatusCode.Forbidden) })
            {
                await PolicyAsync($"account={account}");
                using var browser = new Browser();
                var visit = await browser.FollowAsync(new Uri(server.BaseAddress, "/audit/review"));

                Assert.True(expected == visit.Final.StatusCode, $"{account}: {(int)visit.Final.StatusCode} after {string.Join(" → ", visit.Urls.Select(u => u.AbsolutePath))}: {visit.Body}");
                Assert.Contains(visit.Urls, u => u.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal));
                Assert.Contains(visit.Urls, u => u.AbsolutePath == "/signin-oidc");
                // The cookie says who and which roles, never a token: no JWT (a base64url JSON header, a dot, a JSON payload)
                // in it. Not the bare "eyJ", which an encrypted cookie's random base64 holds by chance now and then.
                Assert.All(browser.Cookies, cookie => Assert.DoesNotMatch(@"eyJ[A-Za-z0-9_-]{4,}\.eyJ", cookie));
                if (expected == HttpStatusCode.OK)
                {
                    Assert.Contains("Audit review", visit.Body, StringComparison.Ordinal);
                    Assert.Contains("auditor-1", visit.Body, StringComparison.Ordinal);
                }
            }

            // An API client without a token is answered 401, not sent to a sign-in page.
            using var api = await server.Client.GetAsync(new Uri("/audit/AuditEvent", UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        }
        finally
        {
            await PolicyAsync("");
        }
    }

    private static async Task PolicyAsync(string query)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/auth-policy?{query}"), null, Ct);
        response.EnsureSuccessStatusCode();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
