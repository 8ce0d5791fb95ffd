namespace HealthRec.Server.Hosting;

/// <summary>
/// The headers of HealthRec's server-rendered pages about patients: never cached, no referrer (a URL may name a
/// patient), no content sniffing, and a Content-Security-Policy that allows only what the page needs.
/// </summary>
internal static class PageHeaders
{
    public static TBuilder WithPageHeaders<TBuilder>(this TBuilder builder, string contentSecurityPolicy)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var headers = context.HttpContext.Response.Headers;
            headers.CacheControl = "no-store";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = contentSecurityPolicy;
            return await next(context);
        });
}
