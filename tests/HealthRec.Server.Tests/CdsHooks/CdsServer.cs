namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>One real server (the repository's hooks, models and catalog, its own SQLite file) for a class of tests.</summary>
public class CdsServer : IAsyncLifetime
{
    private RunningServer? _server;

    internal RunningServer Server => _server ?? throw new InvalidOperationException("not started");

    /// <summary>The deadline for reads from the FHIR test server: generous, as it shares two cores with the tests beside it.</summary>
    public const string FhirTimeout = "00:00:05";

    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["CdsHooks:FhirTimeout"] = FhirTimeout };

    /// <summary>Every log record the server writes, at the levels its settings allow.</summary>
    public Microsoft.Extensions.Logging.Testing.FakeLogCollector Logs { get; } = new();

    public virtual async ValueTask InitializeAsync() => _server = await RunningServer.StartAsync(Settings, TestContext.Current.CancellationToken, builder =>
    {
        builder.Logging.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(Logs));
        Configure(builder);
    });

    /// <summary>What a fixture adds to the server's composition (e.g. a clock it controls).</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>A server for tests of EHRs whose keys are at a JWKS URL: a real JWK Set server on loopback beside it.</summary>
public abstract class CdsServerWithJwks : CdsServer
{
    public JwksServer Jwks { get; } = new();

    public override async ValueTask InitializeAsync()
    {
        await Jwks.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Jwks.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
