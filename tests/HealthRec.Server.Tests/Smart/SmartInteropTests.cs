namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// What differs from one EHR's authorization server to the next, against the test EHR (oidc-provider): a client secret
/// with reserved characters (RFC 6749 §2.3.1 form-encodes it inside Basic); an EHR that compares Basic credentials
/// unencoded (HealthRec sends them once as typed); an EHR that refuses Basic and advertises client_secret_post (the
/// secret then goes in the body); a client configured for client_secret_post; the EHR's own words on its error pages, escaped (access_denied's in SmartLaunchTests); an id_token that does not carry the launch's
/// nonce, which starts no session.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class SmartInteropTests : IAsyncLifetime
{
    // Reserved characters in the URL-encoded form: '@', '/', '+' (a '+' unencoded would come back as a space).
    private const string ReservedSecret = "p@ss/rd+1 with-reserved-characters-0123456789";

    private RunningServer? _server;
    private PatientFixture _patient = null!;

    public async ValueTask InitializeAsync()
    {
        _patient = PatientFixture.HighRisk();
        await _patient.LoadAsync(Ct);
        await SmartEhr.PolicyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await SmartEhr.PolicyAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private async Task<RunningServer> StartAsync(string registeredAs, string? secret = null, string? configuredMethod = null)
    {
        var settings = await SmartEhr.RegisterAsync(registeredAs, secret);
        if (configuredMethod is not null)
        {
            settings["Smart:Clients:0:TokenEndpointAuthMethod"] = configuredMethod;
        }

        _server = await RunningServer.StartAsync(settings, Ct);
        return _server;
    }

    private async Task<Visit> LaunchAsync(Browser browser, Func<Uri, Uri>? tamper = null) =>
        await browser.FollowAsync(SmartEhr.EhrLaunch(_server!, await SmartEhr.LaunchAsync(_patient.Id, needBanner: true)), tamper);

    // An EHR launch in a new browser: where it ended, and the token requests it made.
    private async Task<(Visit Visit, List<JsonNode?> Exchanges)> SignInAsync()
    {
        var before = (await SmartEhr.RequestLogAsync()).Count;
        using var browser = new Browser();
        var visit = await LaunchAsync(browser);
        return (visit, await TokenRequestsSinceAsync(before));
    }

    // The token requests made since a count of the request log.
    private static async Task<List<JsonNode?>> TokenRequestsSinceAsync(int before) =>
        [.. (await SmartEhr.RequestLogAsync()).Skip(before).Where(r => ((string)r!["url"]!).StartsWith("/oauth/token", StringComparison.Ordinal))];

    private void AssertSignedIn(Visit visit)
    {
        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        Assert.Contains($"data-patient=\"{_patient.Id}\"", visit.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenASecretWithReservedCharacters_WhenTheCodeIsExchangedWithBasic_ThenTheSecretIsFormEncodedAndAccepted()
    {
        await StartAsync("client_secret_basic", ReservedSecret);

        var (visit, exchanges) = await SignInAsync();

        AssertSignedIn(visit);
        var exchange = Assert.Single(exchanges);
        // RFC 6749 §2.3.1: client id and secret each application/x-www-form-urlencoded before they are joined and encoded.
        Assert.EndsWith(":p%40ss%2Frd%2B1+with-reserved-characters-0123456789", Basic(exchange), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnEhrThatComparesBasicCredentialsUnencoded_WhenItRefusesTheEncodedForm_ThenHealthRecSendsThemOnceAsTyped()
    {
        await SmartEhr.PolicyAsync(rawBasic: true);
        await StartAsync("client_secret_basic", ReservedSecret);

        var (visit, exchanges) = await SignInAsync();

        AssertSignedIn(visit);
        Assert.Equal(2, exchanges.Count);
        Assert.EndsWith(":p%40ss%2Frd%2B1+with-reserved-characters-0123456789", Basic(exchanges[0]), StringComparison.Ordinal);
        Assert.EndsWith($":{ReservedSecret}", Basic(exchanges[1]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnEhrThatRefusesBasicAndAdvertisesPost_WhenBothBasicFormsAreRefused_ThenTheSecretGoesInTheBody()
    {
        await SmartEhr.PolicyAsync(refuseBasic: true);
        await StartAsync("client_secret_post", ReservedSecret);

        var (visit, exchanges) = await SignInAsync();

        AssertSignedIn(visit);
        Assert.Equal(3, exchanges.Count);
        Assert.StartsWith("Basic ", (string?)exchanges[0]!["authorization"], StringComparison.Ordinal);
        Assert.StartsWith("Basic ", (string?)exchanges[1]!["authorization"], StringComparison.Ordinal);
        Assert.Null((string?)exchanges[2]!["authorization"]);
    }

    private static string Basic(JsonNode? request) =>
        Encoding.UTF8.GetString(Convert.FromBase64String(((string)request!["authorization"]!)["Basic ".Length..]));

    [Fact]
    public async Task GivenAClientConfiguredForClientSecretPost_WhenLaunched_ThenTheSecretGoesOnlyInTheBody()
    {
        await StartAsync("client_secret_post", ReservedSecret, configuredMethod: "client_secret_post");

        var (visit, exchanges) = await SignInAsync();

        AssertSignedIn(visit);
        Assert.Null((string?)Assert.Single(exchanges)!["authorization"]);
    }

    [Fact]
    public async Task GivenAnEhrThatRefusesTheRequestedScopes_WhenItAnswers_ThenThePageSaysItIsAConfigurationProblemInTheEhrsEscapedWords()
    {
        await StartAsync("none");
        await SmartEhr.PolicyAsync(denyWith: "invalid_scope");
        var before = (await SmartEhr.RequestLogAsync()).Count;
        using var browser = new Browser();

        var visit = await LaunchAsync(browser);

        Assert.Equal(HttpStatusCode.BadRequest, visit.Final.StatusCode);
        Assert.Contains("<title>HealthRec — The EHR refused HealthRec&#x27;s sign-in request</title>", visit.Body, StringComparison.Ordinal);
        Assert.Contains("invalid_scope", visit.Body, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;as sent&lt;/b&gt;", visit.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>as sent</b>", visit.Body, StringComparison.Ordinal);
        Assert.Contains("administrator", visit.Body, StringComparison.Ordinal);
        Assert.Empty(await TokenRequestsSinceAsync(before));
    }

    [Fact]
    public async Task GivenAnIdTokenWithoutTheLaunchsNonce_WhenTheCodeIsExchanged_ThenNoSessionStartsAndNothingIsRead()
    {
        await StartAsync("none");
        using var browser = new Browser();
        var readsBefore = (await SmartEhr.RequestLogAsync()).Count(r => ((string)r!["url"]!).Contains(_patient.Id, StringComparison.Ordinal));

        // The authorization request's nonce replaced on the way: the EHR's id_token then carries a nonce HealthRec never sent.
        var visit = await LaunchAsync(browser, url => url.AbsolutePath.EndsWith("/oauth/auth", StringComparison.Ordinal)
            ? new Uri(Regex.Replace(url.AbsoluteUri, "nonce=[^&]+", "nonce=replayed-from-elsewhere")) : url);

        Assert.Equal(HttpStatusCode.BadRequest, visit.Final.StatusCode);
        Assert.Contains("The EHR&#x27;s identity token could not be verified", visit.Body, StringComparison.Ordinal);
        Assert.Contains("nonce", visit.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(browser.CookieNames, c => c.StartsWith("healthrec.smart.s.", StringComparison.Ordinal));
        Assert.Equal(readsBefore, (await SmartEhr.RequestLogAsync()).Count(r => ((string)r!["url"]!).Contains(_patient.Id, StringComparison.Ordinal)));
    }
}
