using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scalar.AspNetCore;

namespace HealthRec.Server.Hosting;

public static class HostingExtensions
{
    /// <summary>Cross-cutting HTTP concerns: JSON shape, ProblemDetails, OpenAPI, log levels.</summary>
    public static WebApplicationBuilder AddHosting(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            // CDS Hooks: an optional attribute without a value is omitted, never null.
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        });
        builder.Services.AddOptions<HostingOptions>().BindConfiguration(HostingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestHandler>();
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddHealthRecOpenApi();
        // Quiet defaults for chatty categories, as the lowest-precedence configuration so that an operator's
        // Logging:LogLevel settings (environment, command line, appsettings.json) still override them. The HTTP client's
        // per-request lines name FHIR URLs with patient ids: off unless asked for (header values are redacted anyway).
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Hangfire"] = "Warning",
                ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
                // Npgsql logs every SQL statement at Information (about 1 MB a node a minute under Hangfire's polling).
                ["Logging:LogLevel:Npgsql"] = "Warning",
            },
        });
        return builder;
    }

    public static WebApplication UseHosting(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // HEAD is GET without a body (RFC 9110 §9.3.2): minimal APIs map GET only, so a HEAD is answered as the GET it
        // stands for, its body discarded (a monitor's HEAD /scalar or HEAD /cds-services got 405).
        app.Use((context, next) =>
        {
            if (HttpMethods.IsHead(context.Request.Method))
            {
                context.Request.Method = HttpMethods.Get;
                context.Response.Body = Stream.Null;
            }

            return next(context);
        });
        // Routing first, so that CORS sees which endpoint (and so which policy) a preflight is for.
        app.UseRouting();
        app.UseCors();
        return app;
    }

    /// <summary>What an operator uses: liveness, readiness, the OpenAPI document and its browsable reference.</summary>
    public static WebApplication MapOperations(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("ready"),
            ResponseWriter = WriteHealthAsync,
        });
        app.MapOpenApi();
        app.MapScalarApiReference();
        // A person who opens the server's root in a browser lands on the API reference.
        app.MapGet("/", () => TypedResults.Redirect("/scalar")).ExcludeFromDescription();
        return app;
    }

    // Status and each check's description; exception details stay in the log, not on the wire.
    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new HealthResponse(
            report.Status.ToString(),
            report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new HealthCheckResponse(entry.Value.Status.ToString(), entry.Value.Description)));
        return context.Response.WriteAsJsonAsync(body, HealthJson, context.RequestAborted);
    }

    private static readonly JsonSerializerOptions HealthJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthCheckResponse> Checks);

    private sealed record HealthCheckResponse(string Status, string? Description);
}
