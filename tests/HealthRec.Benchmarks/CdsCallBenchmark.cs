namespace HealthRec.Benchmarks;

/// <summary>
/// What a CDS call without its HTTP needs, from the server's own composition (Program.BuildServer): the service
/// catalog, the prefetch resolver, the record mapper, the models and the response's JSON options — and the call's
/// first half, shared by every hook: the body read and checked, its data resolved, the record mapped.
/// </summary>
public abstract class CdsCallBenchmark : IDisposable
{
    private WebApplication _app = null!;

    protected IServiceProvider Services => _app.Services;

    private protected CdsServiceCatalog Catalog { get; private set; } = null!;

    private protected HookDataResolver Resolver { get; private set; } = null!;

    private protected FhirRecordMapper Mapper { get; private set; } = null!;

    protected ModelCatalog Models { get; private set; } = null!;

    protected JsonSerializerOptions Json { get; private set; } = null!;

    /// <summary>Builds the server's services; call first in a benchmark's global setup.</summary>
    protected void StartServer()
    {
        _app = BenchmarkServer.Build();
        Catalog = _app.Services.GetRequiredService<CdsServiceCatalog>();
        Resolver = _app.Services.GetRequiredService<HookDataResolver>();
        Mapper = _app.Services.GetRequiredService<FhirRecordMapper>();
        Models = _app.Services.GetRequiredService<ModelCatalog>();
        Json = _app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
    }

    /// <summary>The call's body read as the endpoint reads it, its prefetch keys those of the service id's entries.</summary>
    private protected CdsBody Read(byte[] body, string serviceId) => CdsBody.Parse(body, Catalog.Find(serviceId));

    /// <summary>The call's request read from its body for the service id's entries, its data resolved and its record mapped.</summary>
    private protected (CdsRequest Request, HookDataResult Data, PatientRecord Record) ReadAndMap(CdsBody body, string serviceId)
    {
        var services = Catalog.Find(serviceId);
        var request = CdsRequestReader.Read(body, services, [])!;
        var service = services.Single(s => s.Hook == request.Hook);
        var data = Resolver.ResolveAsync(request, service, TimeSpan.FromSeconds(1), default).GetAwaiter().GetResult();
        return (request, data, Mapper.Map(data.Resources!, data.Report)!);
    }

    [BenchmarkDotNet.Attributes.GlobalCleanup]
    public void Dispose()
    {
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }
}
