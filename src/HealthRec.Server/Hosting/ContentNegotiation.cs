namespace HealthRec.Server.Hosting;

/// <summary>Pages served both as data and as HTML for a browser: which one a request asks for.</summary>
internal static class ContentNegotiation
{
    /// <summary>
    /// Whether the request prefers <c>text/html</c> to <paramref name="alternative"/> (by quality, then order; neither
    /// named: not HTML, so <c>curl</c> gets the data). Marks the response as varying by <c>Accept</c>.
    /// </summary>
    public static bool PrefersHtml(this HttpContext http, string alternative)
    {
        http.Response.Headers.Vary = "Accept";
        return http.Request.GetTypedHeaders().Accept.OrderByDescending(a => a.Quality ?? 1)
            .FirstOrDefault(a => a.MediaType.Value == "text/html" || a.MediaType.Value == alternative)?.MediaType.Value == "text/html";
    }
}
