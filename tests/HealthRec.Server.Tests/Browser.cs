namespace HealthRec.Server.Tests;

/// <summary>
/// What a browser does in a sign-in: follows redirects, keeps cookies (per host, as browsers do), asks for HTML.
/// Enough for the SMART launch and the staff sign-in; the UI test uses real Chromium.
/// </summary>
internal sealed class Browser : IDisposable
{
    private readonly CookieContainer _cookies = new();
    private readonly HttpClient _http;

    public Browser()
    {
        _http = new HttpClient(new HttpClientHandler { CookieContainer = _cookies, AllowAutoRedirect = false });
        _http.DefaultRequestHeaders.Accept.ParseAdd("text/html");
    }

    public IEnumerable<string> Cookies => _cookies.GetAllCookies().Select(c => c.Value);

    public IEnumerable<string> CookieNames => _cookies.GetAllCookies().Where(c => !c.Expired).Select(c => c.Name);

    public async Task<Visit> FollowAsync(Uri start, Func<Uri, Uri>? tamper = null)
    {
        var urls = new List<Uri>();
        var bodies = new List<string>();
        var url = start;
        for (var hop = 0; hop < 20; hop++)
        {
            url = tamper?.Invoke(url) ?? url;
            urls.Add(url);
            var response = await _http.GetAsync(url, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            bodies.Add(body);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }

            return new Visit(response, body, urls, bodies);
        }

        throw new InvalidOperationException($"more than 20 redirects from {start}");
    }

    public void Dispose() => _http.Dispose();
}

internal sealed record Visit(HttpResponseMessage Final, string Body, List<Uri> Urls, List<string> Bodies);
