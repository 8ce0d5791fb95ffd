namespace HealthRec.Server.Tests.Smart;

/// <summary>The SMART client kinds: confidential with a secret, asymmetric with a signed assertion, and a launch finished on another node.</summary>
public sealed partial class SmartLaunchTests
{
    [Fact]
    public async Task GivenAConfidentialClient_WhenLaunched_ThenTheCodeIsExchangedWithItsSecretAndAWrongSecretIsRefused()
    {
        await RestartAsync("client_secret_basic");
        var tokenRequests = (await SmartEhr.RequestLogAsync()).Count;
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        var exchange = (await SmartEhr.RequestLogAsync()).Skip(tokenRequests).Single(r => ((string)r!["url"]!).StartsWith("/oauth/token", StringComparison.Ordinal));
        Assert.StartsWith("Basic ", (string?)exchange!["authorization"], StringComparison.Ordinal);

        await RestartAsync("client_secret_basic", issued => issued + "-wrong");
        using var other = new Browser();
        var refused = await other.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Final.StatusCode);
        Assert.Contains("invalid_client", refused.Body, StringComparison.Ordinal);
        // The EHR advertises client_secret_post, so it was tried too; the page says so and keeps Basic's answer.
        Assert.Contains("With the secret in the request body (client_secret_post): The EHR&#x27;s token endpoint answered 401: invalid_client", refused.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ES384")]
    [InlineData("RS384")]
    public async Task GivenAnAsymmetricClient_WhenLaunched_ThenItAuthenticatesWithASignedAssertionPublishesItsPublicKeyAndAnotherKeyIsRefused(string algorithm)
    {
        var kid = $"healthrec-test-{algorithm.ToLowerInvariant()}";
        var keys = KeyPair(algorithm, kid);
        await RestartAsync("private_key_jwt", keys: keys);
        using var browser = new Browser();

        var visit = await browser.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));
        var jwks = await _server.Client.GetFromJsonAsync<JsonNode>(new Uri("/smart/jwks.json", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        var published = Assert.Single(jwks!["keys"]!.AsArray())!;
        foreach (var (member, value) in keys.PublicJwk)
        {
            Assert.Equal((string?)value, (string?)published[member]);
        }

        Assert.Null(published["d"]);
        Assert.Null(published["p"]);

        // The EHR registered one key; HealthRec signing with another is refused.
        using System.Security.Cryptography.AsymmetricAlgorithm registered = algorithm == "RS384"
            ? System.Security.Cryptography.RSA.Create(2048) : System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        var mismatched = KeyPair(algorithm, kid, publicFrom: registered);
        await RestartAsync("private_key_jwt", keys: mismatched);
        using var other = new Browser();
        var refused = await other.FollowAsync(EhrLaunch(await SmartEhr.LaunchAsync(_patient.Id, true)));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Final.StatusCode);
        Assert.Contains("invalid_client", refused.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTwoNodesOnOnePostgres_WhenALaunchStartsOnOneAndItsCallbackReachesTheOther_ThenEitherNodeServesTheSession()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var ports = new[] { HealthTests.FreeLoopbackPort(), HealthTests.FreeLoopbackPort() };
        using var http = new HttpClient();
        var registration = await http.PostAsJsonAsync(Fhir("/oauth/reg"), new
        {
            redirect_uris = ports.Select(p => $"http://127.0.0.1:{p}/smart/callback").ToArray(),
            token_endpoint_auth_method = "none",
            grant_types = new[] { "authorization_code", "refresh_token" },
            response_types = new[] { "code" },
        }, Ct);
        var clientId = (string)(await registration.Content.ReadFromJsonAsync<JsonNode>(Ct))!["client_id"]!;
        Dictionary<string, string?> Node(int port) => new()
        {
            ["urls"] = $"http://127.0.0.1:{port}",
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["Smart:Clients:0:Issuer"] = Iss,
            ["Smart:Clients:0:ClientId"] = clientId,
            ["Jobs:WorkerCount"] = "0",
        };
        await using var first = await RunningServer.StartAsync(Node(ports[0]), Ct);
        await using var second = await RunningServer.StartAsync(Node(ports[1]), Ct);
        using var browser = new Browser();

        // A load balancer sends the EHR's redirect back to the other node.
        var visit = await browser.FollowAsync(new Uri(first.BaseAddress, $"/smart/launch?iss={Uri.EscapeDataString(Iss)}&launch={await SmartEhr.LaunchAsync(_patient.Id, true)}"),
            url => url.AbsolutePath == "/smart/callback" && url.Port == ports[0] ? new UriBuilder(url) { Port = ports[1] }.Uri : url);
        var onFirst = await browser.FollowAsync(new Uri(first.BaseAddress, visit.Urls[^1].PathAndQuery));

        Assert.Contains(visit.Urls, u => u.AbsolutePath == "/smart/callback" && u.Port == ports[1]);
        Assert.Equal(HttpStatusCode.OK, visit.Final.StatusCode);
        Assert.Contains($"data-patient=\"{_patient.Id}\"", visit.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, onFirst.Final.StatusCode);
        Assert.Contains($"data-patient=\"{_patient.Id}\"", onFirst.Body, StringComparison.Ordinal);
    }
}
