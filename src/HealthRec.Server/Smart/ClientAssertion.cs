namespace HealthRec.Server.Smart;

/// <summary>
/// SMART's asymmetric client authentication (private_key_jwt, RFC 7523): a short-lived JWT signed with HealthRec's private
/// key (ES384 or RS384, the algorithms SMART names) that the EHR checks against the public key it registered.
/// </summary>
internal static class ClientAssertion
{
    public const string Type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The assertion for one token request: iss = sub = client id, aud = the token endpoint, five minutes, a fresh jti.</summary>
    public static string Create(SmartClientOptions client, string tokenEndpoint, DateTimeOffset now)
    {
        var (key, algorithm) = SigningKey(client) ?? throw new InvalidOperationException("The client's private key cannot be read (checked at start-up).");
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = client.ClientId,
            Audience = tokenEndpoint,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.AddMinutes(5).UtcDateTime,
            Claims = new Dictionary<string, object> { ["sub"] = client.ClientId, ["jti"] = Guid.NewGuid().ToString("N") },
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    /// <summary>The signing key and its algorithm, or null when the PEM holds neither a P-384 EC key nor an RSA key of 2048 bits or more.</summary>
    public static (SecurityKey Key, string Algorithm)? SigningKey(SmartClientOptions client)
    {
        if (string.IsNullOrEmpty(client.PrivateKey))
        {
            return null;
        }

        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(client.PrivateKey);
            return ec.KeySize == 384 ? (new ECDsaSecurityKey(ec) { KeyId = client.KeyId }, SecurityAlgorithms.EcdsaSha384) : null;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // Not an EC key: perhaps RSA.
        }

        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(client.PrivateKey);
            return rsa.KeySize >= 2048 ? (new RsaSecurityKey(rsa) { KeyId = client.KeyId }, SecurityAlgorithms.RsaSha384) : null;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The public JWK of a client's key (never the private part), for <c>/smart/jwks.json</c>.</summary>
    public static Dictionary<string, string>? PublicJwk(SmartClientOptions client)
    {
        switch (SigningKey(client)?.Key)
        {
            case ECDsaSecurityKey ec:
                var point = ec.ECDsa.ExportParameters(includePrivateParameters: false).Q;
                return new() { ["kty"] = "EC", ["crv"] = "P-384", ["x"] = Base64UrlEncoder.Encode(point.X), ["y"] = Base64UrlEncoder.Encode(point.Y),
                    ["kid"] = client.KeyId, ["alg"] = "ES384", ["use"] = "sig" };
            case RsaSecurityKey rsa:
                var parameters = rsa.Rsa.ExportParameters(includePrivateParameters: false);
                return new() { ["kty"] = "RSA", ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                    ["kid"] = client.KeyId, ["alg"] = "RS384", ["use"] = "sig" };
            default:
                return null;
        }
    }
}
