namespace HealthRec.Server.Smart;

/// <summary>Settings under <c>Smart</c>: the EHRs HealthRec is registered with as a SMART app.</summary>
public sealed class SmartOptions : IValidatableObject
{
    public const string Section = "Smart";

    /// <summary>One entry per EHR, by the FHIR base URL it sends as <c>iss</c>; a launch from any other is refused.</summary>
    public List<SmartClientOptions> Clients { get; set; } = [];

    /// <summary>
    /// The scopes asked for, in SMART v2 syntax; when the EHR advertises only <c>permission-v1</c>, the v1 forms
    /// (<c>.read</c>) are asked instead. <c>launch</c> (EHR launch) or <c>launch/patient</c> (standalone) is added.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string Scopes { get; set; } = "openid fhirUser online_access patient/Patient.rs patient/Observation.rs patient/Condition.rs patient/MedicationStatement.rs " +
        "patient/MedicationRequest.rs patient/Encounter.rs patient/QuestionnaireResponse.rs patient/DiagnosticReport.rs patient/AllergyIntolerance.rs";

    /// <summary>How long a signed-in session lasts at most, whatever the tokens allow.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "1.00:00:00", ErrorMessage = "Smart:SessionLifetime must be between 5 minutes and one day")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long the EHR's authorization may take between the launch and the callback.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00", ErrorMessage = "Smart:AuthorizationTimeout must be between 1 and 60 minutes")]
    public TimeSpan AuthorizationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < Clients.Count; i++)
        {
            var client = Clients[i];
            if (!Uri.TryCreate(client.Issuer, UriKind.Absolute, out var issuer) || !Hosting.Loopback.IsHttpsOrLoopback(issuer))
            {
                yield return new ValidationResult($"Smart:Clients:{i}:Issuer must be the EHR's FHIR base URL (https, or http on loopback)");
            }

            if (string.IsNullOrWhiteSpace(client.ClientId))
            {
                yield return new ValidationResult($"Smart:Clients:{i}:ClientId must be the client id the EHR registered HealthRec under");
            }

            if (!string.IsNullOrEmpty(client.ClientSecret) && !string.IsNullOrEmpty(client.PrivateKey))
            {
                yield return new ValidationResult($"Smart:Clients:{i} names both a ClientSecret and a PrivateKey: a client authenticates one way");
            }

            if (client.TokenEndpointAuthMethod is not (null or "client_secret_basic" or "client_secret_post"))
            {
                yield return new ValidationResult($"Smart:Clients:{i}:TokenEndpointAuthMethod must be client_secret_basic or client_secret_post (or left out: Basic, with fallbacks when the EHR refuses it)");
            }

            if (!string.IsNullOrEmpty(client.PrivateKey) && ClientAssertion.SigningKey(client) is null)
            {
                yield return new ValidationResult($"Smart:Clients:{i}:PrivateKey must be a PEM private key, EC P-384 (ES384) or RSA of at least 2048 bits (RS384)");
            }
        }
    }

    /// <summary>The client registered with the EHR that sent <paramref name="iss"/>, if any (trailing slashes ignored).</summary>
    public SmartClientOptions? ClientFor(string iss) =>
        Clients.FirstOrDefault(c => string.Equals(c.Issuer.TrimEnd('/'), iss.TrimEnd('/'), StringComparison.Ordinal));
}

/// <summary>HealthRec as one EHR registered it.</summary>
public sealed class SmartClientOptions
{
    /// <summary>The EHR's FHIR base URL, exactly as its launches send it in <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";

    public string ClientId { get; set; } = "";

    /// <summary>For a confidential client with a shared secret; empty for a public client. A secret: set it from the environment.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// How the secret is sent: <c>client_secret_basic</c> (RFC 6749 2.3.1, id and secret form-urlencoded inside HTTP
    /// Basic) or <c>client_secret_post</c> (in the form). Left out: Basic; when the EHR refuses it with invalid_client,
    /// Basic unencoded (servers that compare it as typed) and then post when its SMART configuration advertises post.
    /// </summary>
    public string? TokenEndpointAuthMethod { get; set; }

    /// <summary>
    /// For a confidential client with a key pair (private_key_jwt, SMART's asymmetric client authentication): the PEM
    /// private key, EC P-384 (signs ES384) or RSA (RS384). A secret: set it from the environment. Its public half is
    /// published at <c>/smart/jwks.json</c> for the EHR to register.
    /// </summary>
    public string? PrivateKey { get; set; }

    /// <summary>The key id (<c>kid</c>) the assertions name and the JWK Set publishes.</summary>
    public string KeyId { get; set; } = "healthrec-1";
}
