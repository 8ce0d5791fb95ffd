using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace HealthRec.Server.CdsHooks;

public static class CdsHooksEndpoints
{
    public static WebApplicationBuilder AddCdsHooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CdsHooksOptions>().BindConfiguration(CdsHooksOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => CdsServiceCatalog.Load(Path.Combine(
            sp.GetRequiredService<IHostEnvironment>().ContentRootPath,
            sp.GetRequiredService<IOptions<CdsHooksOptions>>().Value.DefinitionsPath)));
        return builder;
    }

    public static WebApplication MapCdsHooks(this WebApplication app)
    {
        // Loaded here, before the server listens: a broken definition stops start-up with its file named.
        _ = app.Services.GetRequiredService<CdsServiceCatalog>();

        var group = app.MapGroup("/cds-services").WithTags("CDS Hooks");
        group.MapGet("/", Discover)
            .WithName("CdsDiscovery")
            .WithSummary("CDS Hooks discovery: the services this server offers, their hooks and prefetch templates.");
        return app;
    }

    internal static Ok<CdsDiscoveryResponse> Discover(CdsServiceCatalog catalog) =>
        TypedResults.Ok(new CdsDiscoveryResponse(catalog.Services));
}
