namespace HealthRec.Server.CdsHooks;

/// <summary>Settings under <c>CdsHooks</c>.</summary>
public sealed class CdsHooksOptions : IValidatableObject
{
    public const string Section = "CdsHooks";

    /// <summary>Folder holding one CDS Service definition (<c>*.json</c>) per service; relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "CdsHooks:DefinitionsPath must name the folder of CDS Service definitions, e.g. hooks")]
    public string DefinitionsPath { get; set; } = "hooks";

    /// <summary>
    /// The EHRs allowed to call: each with its JWT issuer and where its signing keys are. With none configured, only
    /// loopback callers are served (without a JWT).
    /// </summary>
    public List<CdsClientOptions> Clients { get; set; } = [];

    /// <summary>The URL EHRs reach this server at (behind a proxy); JWT audiences and card links are built on it. Default: the request's own.</summary>
    [Url(ErrorMessage = "CdsHooks:PublicBaseUrl must be an absolute URL, e.g. https://cds.example.org")]
    public string? PublicBaseUrl { get; set; }

    /// <summary>How long all of a call's reads from the EHR's FHIR server may take together, well inside the hook's budget.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30", ErrorMessage = "CdsHooks:FhirTimeout must be between 50 ms and 30 s")]
    public TimeSpan FhirTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest request body accepted (a full prefetch is a few hundred kilobytes); larger is 413.</summary>
    [Range(1024, 1L << 30, ErrorMessage = "CdsHooks:MaxRequestBytes must be between 1 KB and 1 GB")]
    public long MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The most draft orders one order-sign or order-select call may hold (an ordering screen holds a handful); more is a 400.</summary>
    [Range(1, 10_000, ErrorMessage = "CdsHooks:MaxDraftOrders must be between 1 and 10,000")]
    public int MaxDraftOrders { get; set; } = 200;

    /// <summary>Leeway for the JWT's exp and iat against this server's clock.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "CdsHooks:ClockSkew must be between 0 and 10 minutes")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest a client's JWT may live (exp − iat); the best practices expect minutes, an hour at most.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "CdsHooks:MaxTokenLifetime must be between 10 seconds and a day")]
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The browser origins (<c>https://ehr.example.org</c>) allowed to call discovery, the services and feedback
    /// (CORS, which browser-based CDS clients need). Empty (default): any origin. Cookies are never allowed, so a page
    /// on another origin gains nothing a call's JWT does not already grant.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var origin in AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("https" or "http")
                || parsed.AbsolutePath != "/" || origin.EndsWith('/') || parsed.Query.Length > 0)
            {
                yield return new ValidationResult($"CdsHooks:AllowedOrigins: '{origin}' is not an origin (scheme://host[:port], no path or slash)");
            }
        }

        for (var i = 0; i < Clients.Count; i++)
        {
            var client = Clients[i];
            var name = $"CdsHooks:Clients:{i}";
            if (string.IsNullOrWhiteSpace(client.Issuer))
            {
                yield return new ValidationResult($"{name}:Issuer is required: the iss of the client's JWTs");
            }

            if (string.IsNullOrWhiteSpace(client.Jwks) && string.IsNullOrWhiteSpace(client.JwksUrl) && client.AllowedJku.Count == 0)
            {
                yield return new ValidationResult($"{name} ({client.Issuer}) needs its keys: Jwks (an inline JWK Set), JwksUrl, or AllowedJku");
            }

            foreach (var url in client.AllowedJku.Append(client.JwksUrl).OfType<string>())
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("https" or "http"))
                {
                    yield return new ValidationResult($"{name} ({client.Issuer}): '{url}' is not an absolute http(s) URL");
                }
            }

            if (client.Jwks is { Length: > 0 } inline)
            {
                string? problem = null;
                try
                {
                    if (JwksCache.Parse(inline).Count == 0)
                    {
                        problem = "holds no RSA or EC public key";
                    }
                }
                catch (Exception ex) when (ex is ArgumentException or System.Text.Json.JsonException)
                {
                    problem = "is not a JWK Set";
                }

                if (problem is not null)
                {
                    yield return new ValidationResult($"{name}:Jwks ({client.Issuer}) {problem}");
                }
            }

            if (Clients.Take(i).Any(c => string.Equals(c.Issuer, client.Issuer, StringComparison.Ordinal)))
            {
                yield return new ValidationResult($"{name}: issuer {client.Issuer} is configured twice");
            }
        }
    }
}

/// <summary>One EHR allowed to call the CDS services.</summary>
public sealed class CdsClientOptions
{
    /// <summary>The <c>iss</c> of its JWTs, exactly.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Its JWK Set URL, agreed out of band (used when a JWT has no <c>jku</c>).</summary>
    public string? JwksUrl { get; set; }

    /// <summary>Its JWK Set inline (JSON), instead of a URL.</summary>
    public string? Jwks { get; set; }

    /// <summary>The <c>jku</c> values it may name; any other jku is refused without being fetched.</summary>
    public List<string> AllowedJku { get; set; } = [];

    /// <summary>When given, the JWT's <c>tenant</c> must be one of these.</summary>
    public List<string> Tenants { get; set; } = [];
}
