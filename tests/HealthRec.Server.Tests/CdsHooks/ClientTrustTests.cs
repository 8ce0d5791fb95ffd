namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// Two allow-listed EHRs: one whose keys (ES384 and RS384) are configured inline, one whose keys are at a JWKS URL it
/// may name in <c>jku</c>. The JWKS server is real HTTP on loopback and counts what is asked of it, so a test can show
/// that a jku off the allow-list is never fetched.
/// </summary>
public class TrustedClients : CdsServerWithJwks
{
    public const string InlineIssuer = "https://ehr-a.example.org";
    public const string JkuIssuer = "https://ehr-b.example.org";
    public const string OwnUrlIssuer = "https://ehr-c.example.org";
    public const string SandboxIssuer = "https://sandbox.example.org";

    /// <summary>A jku the sandbox-like client may name that nothing answers at.</summary>
    public const string Unreachable = "http://127.0.0.1:9/.well-known/jwks.json";

    public ECDsaSecurityKey Ec { get; } = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ec-1" };

    public RsaSecurityKey Rsa { get; } = new(RSA.Create(2048)) { KeyId = "rsa-1" };

    public ECDsaSecurityKey Remote { get; } = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "remote-1" };

    protected override IReadOnlyDictionary<string, string?> Settings
    {
        get
        {
            Jwks.Keys = Set(Remote);
            return new Dictionary<string, string?>
            {
                ["CdsHooks:FhirTimeout"] = FhirTimeout,
                ["CdsHooks:Clients:0:Issuer"] = InlineIssuer,
                ["CdsHooks:Clients:0:Jwks"] = Set(Ec, Rsa),
                ["CdsHooks:Clients:1:Issuer"] = JkuIssuer,
                ["CdsHooks:Clients:1:AllowedJku:0"] = Jwks.Url("/jwks"),
                // Keys at its own JWKS URL, which its tokens also name as jku.
                ["CdsHooks:Clients:2:Issuer"] = OwnUrlIssuer,
                ["CdsHooks:Clients:2:JwksUrl"] = Jwks.Url("/own"),
                // As the CDS Hooks Sandbox is set up: inline keys, and a jku it names that cannot be fetched from here.
                ["CdsHooks:Clients:3:Issuer"] = SandboxIssuer,
                ["CdsHooks:Clients:3:Jwks"] = Set(Ec),
                ["CdsHooks:Clients:3:AllowedJku:0"] = Unreachable,
            };
        }
    }

    public static string Set(params AsymmetricSecurityKey[] keys) => JsonSerializer.Serialize(new
    {
        keys = keys.Select(k => k switch
        {
            ECDsaSecurityKey ec => (object)new
            {
                kty = "EC", use = "sig", kid = ec.KeyId, crv = "P-384",
                x = Base64UrlEncoder.Encode(ec.ECDsa.ExportParameters(false).Q.X), y = Base64UrlEncoder.Encode(ec.ECDsa.ExportParameters(false).Q.Y),
            },
            RsaSecurityKey rsa => new
            {
                kty = "RSA", use = "sig", kid = rsa.KeyId,
                n = Base64UrlEncoder.Encode(rsa.Rsa.ExportParameters(false).Modulus), e = Base64UrlEncoder.Encode(rsa.Rsa.ExportParameters(false).Exponent),
            },
            _ => throw new ArgumentException("unsupported key"),
        }),
    });
}

/// <summary>A JWK Set server on loopback that records every path asked for.</summary>
public sealed class JwksServer : IAsyncDisposable
{
    private WebApplication? _app;

    public string Keys { get; set; } = """{"keys":[]}""";

    public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; } = new();

    public string Url(string path) => _app!.Urls.First() + path;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(async context =>
        {
            Requests.Enqueue(context.Request.Path);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Keys);
        });
        await _app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

[Collection(SequentialServers.Name)]
public sealed class ClientTrustTests(TrustedClients fixture) : IClassFixture<TrustedClients>
{
    private static readonly JsonWebTokenHandler Handler = new();

    private HttpClient Client => fixture.Server.Client;

    private string ServiceUrl => new Uri(fixture.Server.BaseAddress, "/cds-services/healthrec-patient-risk").AbsoluteUri;

    private string Token(SecurityKey key, string algorithm, string? issuer = TrustedClients.InlineIssuer, string? audience = null, bool jti = true,
        DateTime? expires = null, DateTime? issued = null, string? jku = null)
    {
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience ?? ServiceUrl,
            IssuedAt = issued ?? now,
            NotBefore = (issued ?? now).AddSeconds(-1),
            Expires = expires ?? now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(key, algorithm),
            Claims = jti ? new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString() } : null,
            AdditionalHeaderClaims = jku is null ? null : new Dictionary<string, object> { ["jku"] = jku },
        };
        return Handler.CreateToken(descriptor);
    }

    private async Task<(int Status, string Text)> CallAsync(string? bearer)
    {
        var patient = PatientFixture.HighRisk();
        var (status, _, text) = await Cds.PatientViewAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct, bearer);
        return (status, text);
    }

    [Fact]
    public async Task GivenValidEs384AndRs384Tokens_WhenCalled_ThenTheCallsAreAnsweredAndTheIssuerIsStored()
    {
        var (es, esText) = await CallAsync(Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384));
        var (rs, rsText) = await CallAsync(Token(fixture.Rsa, SecurityAlgorithms.RsaSha384));

        Assert.True(es == 200, esText);
        Assert.True(rs == 200, rsText);
        var recent = await (await fixture.Server.StoredCallsAsync(Ct)).ListRecentAsync(1, Ct);
        Assert.Equal(TrustedClients.InlineIssuer, recent[0].ClientIssuer);
        Assert.NotNull(recent[0].ClientJti);
    }

    [Fact]
    public async Task GivenAJkuOnTheClientsAllowList_WhenCalled_ThenItsKeysAreFetchedOnceAndTheCallIsAnswered()
    {
        var jku = fixture.Jwks.Url("/jwks");

        var first = await CallAsync(Token(fixture.Remote, SecurityAlgorithms.EcdsaSha384, TrustedClients.JkuIssuer, jku: jku));
        var second = await CallAsync(Token(fixture.Remote, SecurityAlgorithms.EcdsaSha384, TrustedClients.JkuIssuer, jku: jku));

        Assert.True(first.Status == 200, first.Text);
        Assert.True(second.Status == 200, second.Text);
        Assert.Single(fixture.Jwks.Requests, p => p == "/jwks");
    }

    [Fact]
    public async Task GivenAJkuThatIsTheClientsOwnJwksUrl_WhenCalled_ThenItIsTrustedWithoutRepeatingItInAllowedJku()
    {
        var (status, text) = await CallAsync(Token(fixture.Remote, SecurityAlgorithms.EcdsaSha384, TrustedClients.OwnUrlIssuer, jku: fixture.Jwks.Url("/own")));

        Assert.True(status == 200, text);
    }

    [Fact]
    public async Task GivenAnAllowedJkuThatCannotBeFetched_WhenCalled_ThenTheClientsConfiguredKeysAreTried()
    {
        var (status, text) = await CallAsync(Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, TrustedClients.SandboxIssuer, jku: TrustedClients.Unreachable));

        Assert.True(status == 200, text);
    }

    [Fact]
    public async Task GivenAnAudienceWithATrailingSlash_WhenCalled_Then401SaysTheAudienceIsNotTheServicesUrl()
    {
        var patient = PatientFixture.HighRisk();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative))
        {
            Content = new StringContent(patient.Call(prefetch: patient.Prefetch()).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var token = Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, audience: ServiceUrl + "/");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var response = await Client.SendAsync(request, Ct);

        Assert.Equal(401, (int)response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        Assert.Contains("the audience is not this service's URL", challenge, StringComparison.Ordinal);
        Assert.DoesNotContain(token, challenge, StringComparison.Ordinal);
    }

    // Each case, and the reason the server logs for it (never sent to the caller).
    public static TheoryData<string, string> Refused => new()
    {
        { "no header", "no bearer JWT" },
        { "not a JWT", "not a JWT" },
        { "alg none", "algorithm 'none' is not an allowed" },
        { "HS256 with the public key as secret", "algorithm 'HS256' is not an allowed" },
        { "unknown kid", "kid does not resolve" },
        { "issuer not allowed", "iss is not an allow-listed CDS client" },
        { "wrong audience (discovery URL)", "validation failed (SecurityTokenInvalidAudienceException)" },
        { "expired", "the JWT has expired" },
        { "issued in the future", "issued in the future" },
        { "missing jti", "the JWT has no jti" },
        { "tampered signature", "validation failed (SecurityTokenInvalidSignatureException)" },
        { "lives too long", "lives longer than" },
        { "RS384 signed by the EC key's kid", "validation failed" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task GivenAnUntrustworthyToken_WhenCalled_ThenTheAnswerIsABare401AndTheLogSaysWhy(string what, string reason)
    {
        var now = DateTime.UtcNow;
        var token = what switch
        {
            "no header" => null,
            "not a JWT" => "some-opaque-token",
            "alg none" => Unsigned(),
            "HS256 with the public key as secret" => Token(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(TrustedClients.Set(fixture.Ec))) { KeyId = "ec-1" },
                SecurityAlgorithms.HmacSha256),
            "unknown kid" => Token(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ec-2" }, SecurityAlgorithms.EcdsaSha384),
            "issuer not allowed" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, issuer: "https://evil.example.org"),
            "wrong audience (discovery URL)" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384,
                audience: new Uri(fixture.Server.BaseAddress, "/cds-services").AbsoluteUri),
            "expired" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, expires: now.AddMinutes(-5), issued: now.AddMinutes(-10)),
            "issued in the future" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, expires: now.AddMinutes(15), issued: now.AddMinutes(10)),
            "missing jti" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, jti: false),
            "tampered signature" => Tampered(Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384)),
            "lives too long" => Token(fixture.Ec, SecurityAlgorithms.EcdsaSha384, expires: now.AddHours(3)),
            "RS384 signed by the EC key's kid" => Token(new RsaSecurityKey(RSA.Create(2048)) { KeyId = "ec-1" }, SecurityAlgorithms.RsaSha384),
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };

        fixture.Logs.Clear();
        var (status, text) = await CallAsync(token);

        Assert.Equal(401, status);
        Assert.Equal("", text);
        var refusal = Assert.Single(fixture.Logs.GetSnapshot(), r => r.Id.Id == 4100);
        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
        if (token is not null)
        {
            Assert.DoesNotContain(token, refusal.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task GivenAReplayedToken_WhenCalledTwice_ThenTheSecondIsRefused()
    {
        var token = Token(fixture.Rsa, SecurityAlgorithms.RsaSha384);

        var first = await CallAsync(token);
        fixture.Logs.Clear();
        var second = await CallAsync(token);

        Assert.True(first.Status == 200, first.Text);
        Assert.Equal(401, second.Status);
        Assert.Contains("jti has been seen before", Assert.Single(fixture.Logs.GetSnapshot(), r => r.Id.Id == 4100).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAJkuOffTheAllowList_WhenCalled_ThenItIsRefusedWithoutAnyRequestToIt()
    {
        var elsewhere = fixture.Jwks.Url("/attacker-keys");

        fixture.Logs.Clear();
        var (status, text) = await CallAsync(Token(fixture.Remote, SecurityAlgorithms.EcdsaSha384, TrustedClients.JkuIssuer, jku: elsewhere));

        Assert.Equal(401, status);
        Assert.Contains("jku is not on this client's allow-list", Assert.Single(fixture.Logs.GetSnapshot(), r => r.Id.Id == 4100).Message, StringComparison.Ordinal);
        Assert.Equal("", text);
        Assert.DoesNotContain("/attacker-keys", fixture.Jwks.Requests);
    }

    [Fact]
    public async Task GivenFeedbackWithoutAToken_WhenSent_Then401_AndDiscoveryStaysOpen()
    {
        var feedback = JsonNode.Parse("""{"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2026-12-01T10:00:00Z"}]}""")!;

        var (status, _, text) = await Cds.PostAsync(Client, "/cds-services/healthrec-patient-risk/feedback", feedback, Ct);
        var discovery = await Client.GetAsync(new Uri("/cds-services", UriKind.Relative), Ct);

        Assert.Equal(401, status);
        Assert.Equal("", text);
        Assert.Equal(System.Net.HttpStatusCode.OK, discovery.StatusCode);
    }

    private string Unsigned()
    {
        static string Part(object value) => Base64UrlEncoder.Encode(JsonSerializer.Serialize(value));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Part(new { alg = "none", typ = "JWT", kid = "ec-1" }) + "." +
            Part(new { iss = TrustedClients.InlineIssuer, aud = ServiceUrl, iat = now, exp = now + 300, jti = Guid.NewGuid().ToString() }) + ".";
    }

    // The payload changed after signing (another jti): the signature no longer matches.
    private static string Tampered(string token)
    {
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!;
        payload["jti"] = Guid.NewGuid().ToString();
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";
    }
}
