using HealthRec.Server.Smart;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// The EHR's id_token, checked before its fhirUser is believed: signature through the JWK Set at the EHR's jwks_uri
/// (served on loopback), issuer, audience, lifetime, nonce; a token without a kid accepted only when the set holds one
/// key (smart-launcher-v2 signs its id_tokens that way); fhirUser kept as Type/id only for a person.
/// </summary>
public sealed class IdentityTokenTests : IAsyncLifetime
{
    private const string Issuer = "https://ehr.example.org/fhir";
    private const string ClientId = "healthrec-app";
    private const string Nonce = "the-nonce-this-launch-sent";

    private readonly JwksServer _jwks = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly RsaSecurityKey _ehrKey = new(RSA.Create(2048)) { KeyId = "ehr-1" };
    private readonly ServiceProvider _services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
    private IdentityTokens _identities = null!;

    public async ValueTask InitializeAsync()
    {
        await _jwks.StartAsync();
        _jwks.Keys = TrustedClients.Set(_ehrKey);
        _identities = new IdentityTokens(new JwksCache(_services.GetRequiredService<IHttpClientFactory>(), _clock, NullLogger<JwksCache>.Instance), _clock);
    }

    public async ValueTask DisposeAsync()
    {
        await _jwks.DisposeAsync();
        await _services.DisposeAsync();
        _ehrKey.Rsa.Dispose();
    }

    private string IdToken(SecurityKey? key = null, string issuer = Issuer, string audience = ClientId, string nonce = Nonce, string fhirUser = Issuer + "/Practitioner/dr-7",
        TimeSpan? expiresIn = null, bool withKid = true)
    {
        var signing = key ?? _ehrKey;
        var now = _clock.GetUtcNow().UtcDateTime;
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now,
            Expires = now + (expiresIn ?? TimeSpan.FromMinutes(60)),
            SigningCredentials = new SigningCredentials(signing, SecurityAlgorithms.RsaSha256),
            Claims = new Dictionary<string, object> { ["sub"] = "user-7", ["nonce"] = nonce, ["fhirUser"] = fhirUser },
        };
        if (!withKid)
        {
            // No kid in the header, as node's jsonwebtoken writes it when given no keyid (smart-launcher-v2's id_tokens).
            signing.KeyId = null;
        }

        return handler.CreateToken(descriptor);
    }

    private Task<(SignedInUser? User, string? Problem)> ValidateAsync(string token) =>
        _identities.ValidateAsync(token, Issuer, _jwks.Url("/keys"), ClientId, Nonce, Ct);

    [Fact]
    public async Task GivenATokenSignedByTheEhrsKey_WhenValidated_ThenTheClinicianIsTheFhirUserAsTypeAndId()
    {
        var (user, problem) = await ValidateAsync(IdToken());

        Assert.Null(problem);
        Assert.Equal("Practitioner/dr-7", user!.FhirUser);
        Assert.Equal("user-7", user.Subject);
    }

    [Fact]
    public async Task GivenATokenWithoutAKid_WhenTheSetHoldsOneKeyOrSeveral_ThenItIsAcceptedWithTheOnlyKeyAndRefusedAmongSeveral()
    {
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa);
        _jwks.Keys = TrustedClients.Set(new RsaSecurityKey(rsa) { KeyId = "only" });
        var token = IdToken(key, withKid: false);

        var (user, problem) = await ValidateAsync(token);
        Assert.Null(problem);
        Assert.Equal("Practitioner/dr-7", user!.FhirUser);

        // A second key in the set: which one signed is no longer known, and no key is guessed.
        _jwks.Keys = TrustedClients.Set(new RsaSecurityKey(rsa) { KeyId = "only" }, _ehrKey);
        _clock.Advance(JwksCache.Lifetime + TimeSpan.FromMinutes(1));
        var (refused, why) = await ValidateAsync(token);
        Assert.Null(refused);
        Assert.Contains("names no key", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenATokenThatFailsOneCheck_WhenValidated_ThenNoUserAndTheProblemSaysWhich()
    {
        using var other = RSA.Create(2048);
        var forged = new RsaSecurityKey(other) { KeyId = "ehr-1" };

        Assert.Contains("nonce", (await ValidateAsync(IdToken(nonce: "another-launch"))).Problem, StringComparison.Ordinal);
        Assert.Contains("did not verify", (await ValidateAsync(IdToken(audience: "another-app"))).Problem, StringComparison.Ordinal);
        Assert.Contains("did not verify", (await ValidateAsync(IdToken(issuer: "https://elsewhere.example.org/fhir"))).Problem, StringComparison.Ordinal);
        Assert.Contains("did not verify", (await ValidateAsync(IdToken(key: forged))).Problem, StringComparison.Ordinal);
        Assert.Contains("did not verify", (await ValidateAsync(IdToken(expiresIn: TimeSpan.FromMinutes(-10)))).Problem, StringComparison.Ordinal);
        Assert.Contains("not a JSON Web Token", (await ValidateAsync("not-a-jwt")).Problem, StringComparison.Ordinal);
        Assert.Null((await ValidateAsync(IdToken(nonce: "another-launch"))).User);
    }

    [Fact]
    public async Task GivenAFhirUserThatIsNotAPerson_WhenValidated_ThenTheSignInStandsButNoClinicianIsNamed()
    {
        var (user, problem) = await ValidateAsync(IdToken(fhirUser: "Organization/org-1"));

        Assert.Null(problem);
        Assert.Null(user!.FhirUser);
    }
}
