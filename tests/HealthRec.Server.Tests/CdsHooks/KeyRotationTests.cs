namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>An EHR whose keys are at a JWKS URL, and a server clock the test moves (the cache's timing is the point).</summary>
public sealed class RotatingClient : CdsServerWithJwks
{
    public const string Issuer = "https://ehr-rotating.example.org";

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["CdsHooks:Clients:0:Issuer"] = Issuer,
        ["CdsHooks:Clients:0:JwksUrl"] = Jwks.Url("/keys"),
    };

    protected override void Configure(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);
}

[Collection(SequentialServers.Name)]
public sealed class KeyRotationTests(RotatingClient fixture) : IClassFixture<RotatingClient>
{
    private string Token(SecurityKey key)
    {
        var now = fixture.Clock.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = RotatingClient.Issuer,
            Audience = new Uri(fixture.Server.BaseAddress, "/cds-services/healthrec-patient-risk").AbsoluteUri,
            IssuedAt = now,
            NotBefore = now.AddSeconds(-1),
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha384),
            Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString() },
        });
    }

    private async Task<int> CallAsync(SecurityKey key)
    {
        var patient = PatientFixture.HighRisk();
        return (await Cds.PatientViewAsync(fixture.Server.Client, patient.Call(prefetch: patient.Prefetch()), Ct, Token(key))).Status;
    }

    private int Fetches => fixture.Jwks.Requests.Count(p => p == "/keys");

    [Fact]
    public async Task GivenTheEhrRotatesItsKey_WhenItsNewKidArrives_ThenTheKeysAreFetchedAgainAtMostOnceATenSecondsAndTheOldKeyStopsWorking()
    {
        var first = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "rot-1" };
        var second = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "rot-2" };
        fixture.Jwks.Keys = TrustedClients.Set(first);

        Assert.Equal(200, await CallAsync(first));
        Assert.Equal(1, Fetches);

        // The EHR publishes the new key and signs with it at once: too soon after the last fetch to fetch again.
        fixture.Jwks.Keys = TrustedClients.Set(second);
        Assert.Equal(401, await CallAsync(second));
        Assert.Equal(1, Fetches);

        fixture.Clock.Advance(Server.CdsHooks.JwksCache.MinRefresh + TimeSpan.FromSeconds(1));
        Assert.Equal(200, await CallAsync(second));
        Assert.Equal(2, Fetches);

        // The retired key is no longer in the set the server holds.
        Assert.Equal(401, await CallAsync(first));

        // A known key is served from the cache for an hour, then the set is fetched again.
        Assert.Equal(200, await CallAsync(second));
        Assert.Equal(2, Fetches);
        fixture.Clock.Advance(Server.CdsHooks.JwksCache.Lifetime);
        Assert.Equal(200, await CallAsync(second));
        Assert.Equal(3, Fetches);
    }
}
