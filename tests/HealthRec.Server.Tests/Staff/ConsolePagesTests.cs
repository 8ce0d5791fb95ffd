namespace HealthRec.Server.Tests.Staff;

/// <summary>
/// One server with a completed population-scoring run, an evaluation, CDS calls and feedback — what an operator has
/// after a day — for the console's browser tests. The local operator (no staff sign-in configured) holds every role.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("healthrec-console-runs-");

    internal RunningServer Server { get; private set; } = null!;

    internal string RunId { get; private set; } = "";

    /// <summary>The calls made (patient-view, each with a full prefetch) and the cards they returned.</summary>
    internal List<(PatientFixture Patient, JsonArray Cards)> Calls { get; } = [];

    public async ValueTask InitializeAsync()
    {
        var sample = Path.Combine(TestServices.RepositoryRoot, "data", "sample");
        Server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Jobs:PollInterval"] = "00:00:00.200",
            ["Jobs:Scoring:Cron"] = "",
            ["Jobs:Scoring:Source"] = sample,
            ["Jobs:Scoring:WorkPath"] = _work.FullName,
            ["Jobs:Evaluation:Source"] = sample,
            ["Jobs:Evaluation:Cron"] = "",
            ["Jobs:Retrain:Cron"] = "",
        }, Ct);

        Assert.Equal(HttpStatusCode.Accepted, (await Server.Client.PostAsync(new Uri("/admin/jobs/population-scoring", UriKind.Relative), null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Server.Client.PostAsync(new Uri("/admin/jobs/evaluate", UriKind.Relative), null, Ct)).StatusCode);
        foreach (var patient in new[] { PatientFixture.HighRisk(), PatientFixture.HighRisk(), new PatientFixture("female", 58) })
        {
            var answer = await Cds.PatientViewAsync(Server.Client, patient.Call(prefetch: patient.Prefetch()), Ct);
            Assert.True(answer.Status == 200, answer.Text);
            Calls.Add((patient, Cds.Cards(answer.Body)));
        }

        // Feedback as an EHR sends it: the first call's first suggestion taken, its other cards overridden.
        var first = Calls[0].Cards;
        var taken = first.First(c => c!["suggestions"]?.AsArray().Count > 0)!;
        var items = new JsonArray(new JsonObject
        {
            ["card"] = (string)taken["uuid"]!, ["outcome"] = "accepted", ["outcomeTimestamp"] = "2026-12-07T10:00:00Z",
            ["acceptedSuggestions"] = new JsonArray(new JsonObject { ["id"] = (string)taken["suggestions"]![0]!["uuid"]! }),
        });
        foreach (var card in first.Where(c => c != taken))
        {
            items.Add(new JsonObject { ["card"] = (string)card!["uuid"]!, ["outcome"] = "overridden", ["outcomeTimestamp"] = "2026-12-07T10:00:00Z" });
        }

        var feedback = await Cds.PostAsync(Server.Client, "/cds-services/healthrec-patient-risk/feedback", new JsonObject { ["feedback"] = items }, Ct);
        Assert.True(feedback.Status == 200, feedback.Text);

        for (var deadline = DateTime.UtcNow.AddMinutes(3); ; await Task.Delay(200, Ct))
        {
            Assert.True(DateTime.UtcNow < deadline, "the population-scoring run or the evaluation did not finish in 3 minutes");
            var runs = JsonNode.Parse(await Server.Client.GetStringAsync(new Uri("/api/runs", UriKind.Relative), Ct))!.AsArray();
            var models = JsonNode.Parse(await Server.Client.GetStringAsync(new Uri("/admin/models", UriKind.Relative), Ct))!.AsArray();
            if (runs.Count > 0 && (string?)runs[0]!["status"] == "completed" && models.Any(m => m!["lastEvaluatedAt"] is not null))
            {
                RunId = (string)runs[0]!["runId"]!;
                break;
            }
        }

        await Server.StoredCallsAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _work.Delete(recursive: true);
    }
}

/// <summary>
/// The operator console, the audit review and a model card in real Chromium: each page shows what the JSON APIs and the
/// stores hold, and is saved as a screenshot under <c>tests/artifacts/</c> (the README's pictures come from there).
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class ConsolePagesTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>, IAsyncLifetime
{
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;

    public async ValueTask InitializeAsync()
    {
        SmartEhr.ChromiumPath();
        _playwright = await Playwright.CreateAsync();
        _browser = await SmartEhr.ChromiumAsync(_playwright);
        _page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    private async Task<IResponse> OpenAsync(string path)
    {
        var response = await _page.GotoAsync(new Uri(fixture.Server.BaseAddress, path).AbsoluteUri);
        Assert.NotNull(response);
        return response;
    }

    private async Task ScreenshotAsync(string name)
    {
        var file = Path.Combine(Directory.CreateDirectory(Path.Combine(TestServices.RepositoryRoot, "tests", "artifacts")).FullName, name);
        await _page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        Assert.True(new FileInfo(file).Length > 20_000, $"the screenshot {name} is empty");
    }

    private async Task<JsonNode> JsonAsync(string path) => JsonNode.Parse(await fixture.Server.Client.GetStringAsync(new Uri(path, UriKind.Relative), Ct))!;

    // The wait starts before the click, so a navigation that ends before the click returns is not missed; the page
    // counts as arrived once its HTML is parsed (the assertions that follow wait for what they read).
    private async Task ClickAndWaitForAsync(ILocator target, string url)
    {
        var arrived = _page.WaitForURLAsync(url, new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        await target.ClickAsync();
        await arrived;
    }

    private Task<string[]> AttributesAsync(string selector, string attribute) =>
        _page.Locator(selector).EvaluateAllAsync<string[]>($"els => els.map(e => e.getAttribute('{attribute}'))");

    [Fact]
    public async Task GivenADayOfWork_WhenTheOperatorOpensTheConsole_ThenItShowsTheRunTheModelsAndTheCalls()
    {
        var response = await OpenAsync("/console");

        Assert.Equal(200, response.Status);
        Assert.Contains(fixture.RunId, await _page.Locator("#latest-run").InnerTextAsync(), StringComparison.Ordinal);
        var served = (await JsonAsync("/models")).AsArray().Select(m => (string)m!["outcome"]!).ToArray();
        Assert.Equal(served, await AttributesAsync("#models tr[data-outcome]", "data-outcome"));
        Assert.Equal(fixture.Calls.Count.ToString(CultureInfo.InvariantCulture), await _page.Locator("#usage .figure").InnerTextAsync());
        Assert.Equal(7, await _page.Locator("header.bar nav a").CountAsync());
        await ScreenshotAsync("console-home.png");
    }

    [Fact]
    public async Task GivenACompletedRun_WhenTheWorklistIsOpenedAndFiltered_ThenItListsThePatientsAsTheApiRanksThem()
    {
        await OpenAsync("/console/runs");
        Assert.Equal("completed", (await _page.Locator($"tr[data-run='{fixture.RunId}'] td").Nth(1).InnerTextAsync()).Trim());
        var run = await JsonAsync($"/api/runs/{fixture.RunId}");
        Assert.Equal((string)run["run"]!["chunks"]!.ToString(), await _page.Locator($"tr[data-run='{fixture.RunId}'] [role=progressbar]").GetAttributeAsync("aria-valuenow"));

        await OpenAsync("/console/worklist?outcome=t2d-5y");
        var api = (await JsonAsync("/api/worklist?outcome=t2d-5y"))["patients"]!.AsArray();
        Assert.Equal(api.Select(p => (string)p!["patientId"]!), await AttributesAsync("#worklist tr[data-patient]", "data-patient"));
        await ScreenshotAsync("console-worklist.png");

        // The alert burden: at each threshold, the patients the run's estimates put at or above it, counted here from the export.
        var estimates = (await fixture.Server.Client.GetStringAsync(new Uri($"/api/runs/{fixture.RunId}/export?format=ndjson", UriKind.Relative), Ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Where(r => (string)r["outcome"]! == "t2d-5y")
            .Select(r => (double)r["estimate"]!).ToList();
        var burden = await JsonAsync("/api/alert-burden?outcome=t2d-5y");
        Assert.Equal(estimates.Count, (int)burden["scored"]!);
        var rows = burden["rows"]!.AsArray();
        Assert.Single(rows, r => (bool)r!["operating"]!);
        foreach (var row in rows)
        {
            var threshold = (double)row!["threshold"]!;
            Assert.Equal(estimates.Count(e => e >= threshold), (int)row["flagged"]!);
            var shown = await _page.Locator($"#burden tr[data-threshold='{threshold.ToString(CultureInfo.InvariantCulture)}'] td").AllInnerTextsAsync();
            Assert.Equal(((int)row["flagged"]!).ToString("N0", CultureInfo.InvariantCulture), shown[1]);
            Assert.Equal((20.0 * (int)row["flagged"]! / estimates.Count).ToString("0.00", CultureInfo.InvariantCulture), shown[3]);
        }

        // The band filter, from the form as a user sets it.
        var band = (string)api[0]!["band"]!;
        await _page.Locator("select[name=band]").SelectOptionAsync(band);
        await ClickAndWaitForAsync(_page.Locator("form.filters button"), $"**/console/worklist?outcome=t2d-5y&band={band}");
        var filtered = (await JsonAsync($"/api/worklist?outcome=t2d-5y&band={band}"))["patients"]!.AsArray();
        Assert.Equal(filtered.Select(p => (string)p!["patientId"]!), await AttributesAsync("#worklist tr[data-patient]", "data-patient"));

        // A patient opens with every outcome the run scored for them.
        var first = (string)filtered[0]!["patientId"]!;
        await ClickAndWaitForAsync(_page.Locator($"#worklist tr[data-patient='{first}'] td a").First, $"**/console/runs/{fixture.RunId}/patients/{first}");
        var export = (await fixture.Server.Client.GetStringAsync(new Uri($"/api/runs/{fixture.RunId}/export?format=ndjson", UriKind.Relative), Ct))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).Where(r => (string)r["patient_id"]! == first).ToList();
        Assert.Equal(export.Select(r => (string)r["outcome"]!).Order(StringComparer.Ordinal), await AttributesAsync("#scores tr[data-outcome]", "data-outcome"));
    }

    [Fact]
    public async Task GivenAnEvaluatedModel_WhenItsPageIsOpened_ThenItShowsTheChampionVersionsEvaluationsAndCharts()
    {
        await OpenAsync("/console/models");
        var outcomes = (await JsonAsync("/admin/models")).AsArray().Select(m => (string)m!["outcome"]!).ToArray();
        Assert.Equal(outcomes, await AttributesAsync("#models tr[data-outcome]", "data-outcome"));

        var response = await OpenAsync("/console/models/t2d-5y");
        Assert.Equal(200, response.Status);
        var view = await JsonAsync("/admin/models/t2d-5y");
        Assert.Contains($"Champion: {(string)view["champion"]!}", await _page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(view["versions"]!.AsArray().Select(v => (string)v!["version"]!).Reverse(), await AttributesAsync("#versions tr[data-version]", "data-version"));
        Assert.Equal(view["evaluations"]!.AsArray().Count, await _page.Locator("#evaluations tbody tr").CountAsync());
        // The evaluation's ROC AUC is the chart's value.
        var auc = (double)view["evaluations"]![0]!["metrics"]!["roc_auc"]!;
        Assert.Contains(auc.ToString("0.###", CultureInfo.InvariantCulture), await _page.Locator("[data-chart=rocauc] table").TextContentAsync() ?? "", StringComparison.Ordinal);
        Assert.True(await _page.Locator("[data-chart=rocauc] svg circle").CountAsync() >= 1, "the ROC AUC chart has no point");
        await ScreenshotAsync("console-model.png");
    }

    [Fact]
    public async Task GivenCallsAndFeedback_WhenUsageIsOpened_ThenCallsLatencyAndAcceptanceAreTheStoredOnes()
    {
        await OpenAsync("/console/usage");

        var calls = await (await fixture.Server.StoredCallsAsync(Ct)).ListRecentAsync(100, Ct);
        var cells = await _page.Locator("#services tr[data-service='healthrec-patient-risk'] td").AllInnerTextsAsync();
        Assert.Equal(calls.Count.ToString(CultureInfo.InvariantCulture), cells[2]);
        var durations = calls.Select(c => c.DurationMs).Order().ToArray();
        Assert.Equal(durations[(durations.Length + 1) / 2 - 1].ToString(CultureInfo.InvariantCulture), cells[6]);
        Assert.Equal(durations.Max().ToString(CultureInfo.InvariantCulture), cells[8]);

        // The card type whose suggestion was taken shows one acceptance; the others of that call one override each.
        var acceptedRows = await _page.Locator("#card-types tr[data-card-type]").EvaluateAllAsync<string[]>(
            "rows => rows.filter(r => r.children[4].innerText.trim() !== '0').map(r => r.dataset.cardType)");
        Assert.Single(acceptedRows);
        var overridden = await _page.Locator("#card-types tr[data-card-type]").EvaluateAllAsync<int[]>("rows => rows.map(r => parseInt(r.children[6].innerText))");
        Assert.Equal(fixture.Calls[0].Cards.Count - 1, overridden.Sum());
        Assert.StartsWith("healthrec-patient-risk/", acceptedRows[0], StringComparison.Ordinal);
        // Feedback by cohort: a row per card type and group, as the admin API lists them; three calls are too few to judge.
        var byCohort = (await JsonAsync("/admin/cds-feedback"))["byCohort"]!.AsArray();
        Assert.NotEmpty(byCohort);
        Assert.Equal(byCohort.Count, await _page.Locator("#by-cohort tr[data-cohort]").CountAsync());
        Assert.All(byCohort, r => Assert.True((bool)r!["reference"]! || (string?)r["notJudged"] is not null, r.ToJsonString()));
        await ScreenshotAsync("console-usage.png");
    }

    [Fact]
    public async Task GivenADecision_WhenTheAuditorReviewsThePatient_ThenEachCardIsShownAsTheEhrShowedIt()
    {
        var (patient, cards) = fixture.Calls[0];

        var response = await OpenAsync($"/audit/review?patient={patient.Id}");

        Assert.Equal(200, response.Status);
        foreach (var card in cards)
        {
            var shown = _page.Locator($"[data-card='{(string)card!["uuid"]!}']");
            Assert.Equal((string)card["summary"]!, (await shown.Locator(".summary").InnerTextAsync()).Trim());
            Assert.Equal(card["suggestions"]?.AsArray().Count ?? 0, await shown.Locator("[data-suggestion]").CountAsync());
            Assert.True(await shown.Locator("[data-detail] strong").CountAsync() > 0, "the detail is not rendered from Markdown");
            Assert.DoesNotContain("**", await shown.Locator("[data-detail]").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(card["links"]?.AsArray().Count ?? 0, await shown.Locator("a.link").CountAsync());
        }

        await ScreenshotAsync("audit-review.png");
    }

    [Fact]
    public async Task GivenAModelCard_WhenABrowserOpensIt_ThenItIsAPageAndOtherClientsStillGetMarkdown()
    {
        var response = await OpenAsync("/models/t2d-5y");

        Assert.Equal(200, response.Status);
        Assert.StartsWith("text/html", response.Headers["content-type"], StringComparison.Ordinal);
        Assert.StartsWith("Model card:", await _page.Locator("article h1").InnerTextAsync(), StringComparison.Ordinal);
        Assert.True(await _page.Locator("article table").CountAsync() >= 2, "the model card's metric tables are not rendered");
        // The card links to the version as a FHIR Device, which the browser can open.
        await ClickAndWaitForAsync(_page.Locator("a[data-device]"), "**/models/t2d-5y/device");
        Assert.Contains("\"resourceType\":\"Device\"", await _page.ContentAsync(), StringComparison.Ordinal);
        await ScreenshotAsync("model-card.png");

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/models/t2d-5y", UriKind.Relative));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/markdown"));
        using var markdown = await fixture.Server.Client.SendAsync(request, Ct);
        Assert.Equal("text/markdown", markdown.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("# Model card:", await markdown.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains("Accept", markdown.Headers.Vary);
    }
}
