namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// One launch, one patient, in real Chromium against the FHIR test server and its authorization server: two launches for
/// two patients in two tabs and in two frames of one EHR page, each reloaded and its what-if form sent, each showing
/// only its own patient; two launches pending at once; the EHR's keys rotating mid-session; a 2,500-character launch; the
/// clinician named in the audit trail.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class LaunchIsolationTests : IAsyncLifetime
{
    private RunningServer _server = null!;
    private PatientFixture _ada = null!;
    private PatientFixture _bert = null!;

    public async ValueTask InitializeAsync()
    {
        _ada = PatientFixture.HighRisk().Named("Ada", "Ashworth");
        _bert = PatientFixture.PregnantWithHypertension().Named("Bertha", "Brennan");
        await _ada.LoadAsync(Ct);
        await _bert.LoadAsync(Ct);
        await SmartEhr.PolicyAsync();
        _server = await RunningServer.StartAsync(await SmartEhr.RegisterAsync("none"), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await SmartEhr.PolicyAsync();
        await _server.DisposeAsync();
    }

    private async Task<Uri> LaunchUrlAsync(PatientFixture patient, string extra = "") =>
        SmartEhr.EhrLaunch(_server, await SmartEhr.LaunchAsync(patient.Id, needBanner: true, extra));

    // The patient a frame or page shows, as the page says it: its data attribute, its title, its banner.
    private static async Task AssertShowsAsync(IFrame frame, PatientFixture patient, string name)
    {
        Assert.Equal(patient.Id, await frame.Locator("main").GetAttributeAsync("data-patient"));
        Assert.Equal($"HealthRec — {name}", await frame.TitleAsync());
        Assert.Contains(name, await frame.Locator("header.banner h1").InnerTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTwoLaunchesInTwoTabsOfOneBrowser_WhenEachIsReloadedAndItsWhatIfIsSent_ThenEachShowsOnlyItsOwnPatient()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var context = await browser.NewContextAsync();
        var first = await context.NewPageAsync();
        var second = await context.NewPageAsync();

        await first.GotoAsync((await LaunchUrlAsync(_ada)).AbsoluteUri);
        await second.GotoAsync((await LaunchUrlAsync(_bert)).AbsoluteUri);
        await first.ReloadAsync();
        await first.Locator("input[name=sbp]").FillAsync("121");
        await first.GetByRole(AriaRole.Button, new() { Name = "Estimate again" }).ClickAsync();
        await first.WaitForURLAsync(url => url.Contains("sbp=121", StringComparison.Ordinal));
        await second.ReloadAsync();

        await AssertShowsAsync(first.MainFrame, _ada, "Ada Ashworth");
        await AssertShowsAsync(second.MainFrame, _bert, "Bertha Brennan");
        Assert.NotEqual(new Uri(first.Url).AbsolutePath, new Uri(second.Url).AbsolutePath);
        Assert.True(await first.Locator("table[data-whatif]").IsVisibleAsync(), "the what-if answer is missing");
        // Each launch's session cookie is its own and goes only to its own launch's page.
        var cookies = await context.CookiesAsync();
        Assert.Equal(2, cookies.Count(c => c.Name.StartsWith("healthrec.smart.s.", StringComparison.Ordinal)));
        Assert.All(cookies.Where(c => c.Name.StartsWith("healthrec.smart.s.", StringComparison.Ordinal)), c =>
        {
            Assert.True(c.HttpOnly);
            Assert.Equal($"/smart/app/{c.Name["healthrec.smart.s.".Length..]}", c.Path);
        });
    }

    [Fact]
    public async Task GivenTwoLaunchesInTwoFramesOfOneEhrPage_WhenEachFrameReloadsAndSendsItsForm_ThenEachFrameShowsOnlyItsOwnPatient()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1700, Height = 1000 } });
        var (a, b) = (await LaunchUrlAsync(_ada), await LaunchUrlAsync(_bert));
        // The clinician is signed in to the EHR before its chart opens (here by an earlier launch of another patient's view;
        // the test EHR, unlike a real one, cannot sign in one browser twice at the same moment).
        await page.GotoAsync((await LaunchUrlAsync(_bert)).AbsoluteUri);
        // The EHR's page, served by the EHR (the FHIR test server's origin), embedding the two launches side by side.
        await page.GotoAsync(SmartEhr.Fhir($"/__admin/chart?frame={Uri.EscapeDataString(a.AbsoluteUri)}&frame={Uri.EscapeDataString(b.AbsoluteUri)}").AbsoluteUri);
        var frameA = await FrameAsync(page, "a");
        var frameB = await FrameAsync(page, "b");
        // Each document marked, so that a frame counts as reloaded only once a new document shows.
        await frameA.EvaluateAsync("() => { window.before = true; location.reload(); }");
        await frameB.EvaluateAsync("() => { window.before = true; }");
        frameA = await FrameAsync(page, "a");
        await frameB.Locator("input[name=ldl]").FillAsync("95");
        await frameB.GetByRole(AriaRole.Button, new() { Name = "Estimate again" }).ClickAsync();
        await frameB.WaitForURLAsync(url => url.Contains("ldl=95", StringComparison.Ordinal));
        frameB = await FrameAsync(page, "b");

        await AssertShowsAsync(frameA, _ada, "Ada Ashworth");
        await AssertShowsAsync(frameB, _bert, "Bertha Brennan");
    }

    // A named frame once it has reached the app's page.
    private static async Task<IFrame> FrameAsync(IPage page, string name)
    {
        for (var i = 0; i < 100; i++)
        {
            if (page.Frame(name) is { } frame && new Uri(frame.Url).AbsolutePath.StartsWith("/smart/app/", StringComparison.Ordinal))
            {
                try
                {
                    await frame.WaitForLoadStateAsync(LoadState.Load);
                    if (await frame.Locator("main[data-patient]").CountAsync() > 0 && await frame.EvaluateAsync<bool>("() => window.before !== true"))
                    {
                        return frame;
                    }
                }
                catch (PlaywrightException ex) when (ex.Message.Contains("context was destroyed", StringComparison.Ordinal) || ex.Message.Contains("detached", StringComparison.Ordinal))
                {
                    // The frame was navigating (the reload this test asked for) while it was read: look again.
                }
            }

            await Task.Delay(100, Ct);
        }

        throw new InvalidOperationException($"frame {name} never showed the app: {page.Frame(name)?.Url} {(page.Frame(name) is { } f ? await f.InnerTextAsync("body") : "")}");
    }

    [Fact]
    public async Task GivenALaunchPausedAtTheEhrsSignInWhileAnotherCompletes_WhenItResumes_ThenBothSignInToTheirOwnPatient()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var context = await browser.NewContextAsync();
        var paused = await context.NewPageAsync();
        // The first launch stops at the EHR's sign-in: HealthRec's redirect to it is taken (its cookie set in the browser),
        // the EHR's page not yet opened.
        var started = await context.APIRequest.GetAsync((await LaunchUrlAsync(_ada)).AbsoluteUri, new APIRequestContextOptions { MaxRedirects = 0 });
        Assert.Equal(302, started.Status);
        var held = started.Headers["location"];
        Assert.Contains("/oauth/auth?", held, StringComparison.Ordinal);

        var other = await context.NewPageAsync();
        await other.GotoAsync((await LaunchUrlAsync(_bert)).AbsoluteUri);
        var resumed = await paused.GotoAsync(held);

        Assert.Equal(200, resumed!.Status);
        await AssertShowsAsync(paused.MainFrame, _ada, "Ada Ashworth");
        await AssertShowsAsync(other.MainFrame, _bert, "Bertha Brennan");
    }

    [Fact]
    public async Task GivenTheEhrRotatesItsKeysMidSession_WhenTheViewIsReloaded_ThenHealthRecRefreshesOnceAndOtherwiseSaysTheSessionIsNoLongerAccepted()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync((await LaunchUrlAsync(_ada)).AbsoluteUri);
        await AssertShowsAsync(page.MainFrame, _ada, "Ada Ashworth");

        await SmartEhr.RotateKeysAsync();
        var renewed = await page.ReloadAsync();

        Assert.Equal(200, renewed!.Status);
        await AssertShowsAsync(page.MainFrame, _ada, "Ada Ashworth");
        var refreshes = (await SmartEhr.TokenRequestsAsync()).Count;

        // Rotated again, and now the EHR refuses the refresh too: the page says so, never "no such patient".
        await SmartEhr.RotateKeysAsync();
        await SmartEhr.PolicyAsync(refuseRefresh: true);
        var refused = await page.ReloadAsync();

        Assert.Equal(401, refused!.Status);
        Assert.Equal("HealthRec — The EHR no longer accepts this session", await page.TitleAsync());
        Assert.DoesNotContain("No such patient", await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(refreshes + 1, (await SmartEhr.TokenRequestsAsync()).Count);
        // The session is gone: the next reload does not try the refused token again.
        Assert.Equal(401, (await page.ReloadAsync())!.Status);
        Assert.Contains("No HealthRec session for this launch", await page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenALaunchOf2500Characters_WhenTheEhrSendsIt_ThenTheSignInCompletesWithTheEncounterAndTheEhrsStyle()
    {
        var launch = await SmartEhr.LaunchAsync(_ada.Id, needBanner: true, "&pad=2500&encounter=enc-7&style=true");
        Assert.Equal(2500, launch.Length);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var page = await browser.NewPageAsync();

        var response = await page.GotoAsync(SmartEhr.EhrLaunch(_server, launch).AbsoluteUri);

        Assert.Equal(200, response!.Status);
        await AssertShowsAsync(page.MainFrame, _ada, "Ada Ashworth");
        Assert.Equal("enc-7", await page.Locator("[data-encounter]").GetAttributeAsync("data-encounter"));
        // smart_style_url: the background and highlight colours are used; a "colour" that is not one is not.
        Assert.Equal("rgb(243, 247, 251)", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor"));
        Assert.Equal("rgb(11, 110, 79)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('header.banner')).backgroundColor"));
        Assert.True(await page.Locator("main").IsVisibleAsync(), "the EHR's style hid the page");
    }

    [Fact]
    public async Task GivenAClinicianSignedIn_WhenTheViewIsOpened_ThenTheAuditEventNamesTheClinicianFromTheVerifiedIdToken()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await SmartEhr.ChromiumAsync(playwright);
        var page = await browser.NewPageAsync();

        await page.GotoAsync((await LaunchUrlAsync(_bert)).AbsoluteUri);

        var audit = await (await _server.AuditAsync(Ct)).ReadAsync(Ct).ToListAsync(Ct);
        var view = audit.Last(r => r.ResourceJson.Contains("\"code\":\"smart-view\"", StringComparison.Ordinal));
        var resource = (Hl7.Fhir.Model.AuditEvent)System.Text.Json.JsonSerializer.Deserialize<Hl7.Fhir.Model.Resource>(view.ResourceJson, Fhir.FhirJson.Options)!;
        var clinician = Assert.Single(resource.Agent, a => a.Requestor == true);
        Assert.Equal("Practitioner/practitioner-1", clinician.Who?.Reference);
        Assert.Contains(resource.Entity, e => e.What?.Reference == $"Patient/{_bert.Id}");
        ProfileValidation.AssertAuditRecordsValid([view]);
    }
}
