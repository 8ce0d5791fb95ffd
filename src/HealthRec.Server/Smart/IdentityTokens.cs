namespace HealthRec.Server.Smart;

/// <summary>Who signed in, as the EHR's id_token says: the FHIR resource of the user (<c>fhirUser</c>) and the subject.</summary>
internal sealed record SignedInUser(string? FhirUser, string Subject);

/// <summary>
/// Checks the id_token an EHR returns beside the access token (SMART App Launch 2.2, <c>openid fhirUser</c>; OpenID
/// Connect Core 3.1.3.7): signed by a key of the authorization server's JWK Set, issued by that server for this client,
/// current, and carrying the nonce the launch sent. Only then is its <c>fhirUser</c> believed, and named in the audit
/// trail as the person who read the record.
/// </summary>
internal sealed class IdentityTokens(JwksCache jwks, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    public async Task<(SignedInUser? User, string? Problem)> ValidateAsync(string idToken, string? issuer, string? jwksUri, string clientId, string nonce,
        CancellationToken cancellationToken)
    {
        if (issuer is null || jwksUri is null)
        {
            return (null, "The EHR returned an identity token, but its SMART configuration names no issuer or jwks_uri to check it against.");
        }

        JsonWebToken token;
        try
        {
            token = Handler.ReadJsonWebToken(idToken);
        }
        catch (ArgumentException)
        {
            return (null, "The EHR's identity token is not a JSON Web Token.");
        }

        // Without a kid (some EHRs sign with their one key and name none), the JWK Set's only key; never a guess among several.
        var key = await jwks.FindAtAsync(jwksUri, token.Kid, cancellationToken);
        if (key is null)
        {
            return (null, token.Kid is { Length: > 0 } ? "The EHR's identity token is signed with a key its JWK Set does not hold."
                : "The EHR's identity token names no key (kid) and its JWK Set holds more than one, or none.");
        }

        // The token read above, validated as it is (not parsed a second time).
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = clientId,
            IssuerSigningKey = key,
            ValidAlgorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"],
            ClockSkew = TimeSpan.FromMinutes(2),
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } exp && exp > time.GetUtcNow().UtcDateTime.AddMinutes(-2),
        });
        if (!result.IsValid)
        {
            return (null, $"The EHR's identity token did not verify ({result.Exception?.GetType().Name ?? "invalid"}).");
        }

        var claims = result.ClaimsIdentity;
        if (!string.Equals(claims.FindFirst("nonce")?.Value, nonce, StringComparison.Ordinal))
        {
            return (null, "The EHR's identity token does not carry the nonce of this launch.");
        }

        return (new SignedInUser(FhirUserReference(claims.FindFirst("fhirUser")?.Value), claims.FindFirst("sub")?.Value ?? ""), null);
    }

    // fhirUser is an absolute or relative URL of a Practitioner, Patient, RelatedPerson or Person: kept as Type/id.
    private static string? FhirUserReference(string? fhirUser)
    {
        if (string.IsNullOrWhiteSpace(fhirUser))
        {
            return null;
        }

        var parts = fhirUser.TrimEnd('/').Split('/');
        return parts.Length >= 2 && parts[^2] is "Practitioner" or "PractitionerRole" or "Patient" or "RelatedPerson" or "Person"
            && parts[^1].Length is > 0 and <= 64 ? $"{parts[^2]}/{parts[^1]}" : null;
    }
}
