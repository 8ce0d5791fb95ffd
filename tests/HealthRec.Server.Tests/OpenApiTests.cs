using Microsoft.AspNetCore.Routing;

namespace HealthRec.Server.Tests;

/// <summary>The API reference as an integrator reads it: every route present, each under one feature's tag, in words for callers.</summary>
[Collection(SequentialServers.Name)]
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task GivenTheServer_WhenItsOpenApiDocumentIsRead_ThenEveryRouteIsThereWithOneKnownTagAndAPublicSummary()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        var document = JsonNode.Parse(await server.Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative), Ct))!;

        Assert.Equal("HealthRec", (string)document["info"]!["title"]!);
        Assert.Contains("Authentication", (string)document["info"]!["description"]!, StringComparison.Ordinal);
        var tags = document["tags"]!.AsArray().Select(t => (string)t!["name"]!).ToList();
        Assert.Equal(tags.Count, tags.Distinct(StringComparer.Ordinal).Count());
        var documented = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key.ToUpperInvariant(), Operation: o.Value!))).ToList();
        // Every route the server maps (less the document itself, its browsable reference and the root's redirect to it).
        var routes = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.StartsWith("/openapi", StringComparison.Ordinal) && !raw.StartsWith("/scalar", StringComparison.Ordinal)
                && raw != "/" && !raw.StartsWith("/hangfire", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Path: "/" + e.RoutePattern.RawText!.Trim('/'), Method: m)))
            .Where(r => r.Method != "OPTIONS")
            .Distinct().ToList();
        Assert.NotEmpty(routes);
        foreach (var (path, method) in routes)
        {
            Assert.True(documented.Any(d => d.Path == path && d.Method == method), $"{method} {path} is not in the OpenAPI document");
        }

        foreach (var (path, method, operation) in documented)
        {
            var operationTags = operation["tags"]?.AsArray().Select(t => (string)t!).ToList() ?? [];
            Assert.True(operationTags.Count == 1 && tags.Contains(operationTags[0]), $"{method} {path} has tags [{string.Join(", ", operationTags)}]");
            var summary = (string?)operation["summary"] ?? "";
            Assert.True(summary.Length > 20, $"{method} {path} has no summary");
            Assert.False(InternalName().IsMatch(summary), $"{method} {path}'s summary names an internal type: {summary}");
        }
    }

    // "see StaffAccess", "(ModelCatalog)": a type name a caller cannot look up.
    [GeneratedRegex(@"\bsee [A-Z][a-z]+[A-Z]\w*|\([A-Z][a-z]+[A-Z][a-z]+\w*\)")]
    private static partial Regex InternalName();
}
