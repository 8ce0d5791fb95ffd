namespace HealthRec.Server.Tests;

/// <summary>
/// A server whose staff sign-in is the OpenID Connect authority of the FHIR test server (oidc-provider): tokens come
/// from a real client-credentials grant there, as signed JWTs with app roles, and the server validates them with
/// Microsoft.Identity.Web against that authority's discovery document and keys.
/// </summary>
public sealed class StaffServer : IAsyncLifetime
{
    private RunningServer? _server;
    private string? _skipped;

    /// <summary>The server; each test skips (with the reason) when the FHIR test server it signs in against is absent.</summary>
    internal RunningServer Server
    {
        get
        {
            if (_skipped is { } why)
            {
                Assert.Skip(why);
            }

            return _server ?? throw new InvalidOperationException("not started");
        }
    }

    public static Uri Authority => new(TestServices.FhirBaseUrl, "/oauth");

    public async ValueTask InitializeAsync()
    {
        try
        {
            _server = await RunningServer.StartAsync(new Dictionary<string, string?>
            {
                ["Staff:Authority"] = Authority.AbsoluteUri,
                ["Staff:ClientId"] = "healthrec-staff",
            }, TestContext.Current.CancellationToken);
        }
        catch (Xunit.Sdk.SkipException ex)
        {
            // A skip thrown in a fixture fails every test of the class: keep it for each test to skip with instead.
            _skipped = ex.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>An access token for the staff API from the authority: client credentials of a test client with the given role.</summary>
    public static async Task<string> TokenAsync(string client, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Authority.AbsoluteUri + "/token"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"{client}:{client}-secret")));
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"the test authority refused a token for {client}: {body}");
        return (string)JsonNode.Parse(body)!["access_token"]!;
    }
}
