namespace HealthRec.Server.Tests;

/// <summary>
/// The real server, composed by <see cref="Program.BuildServer"/> exactly as <c>healthrec serve</c> composes it,
/// listening on a free loopback port, with its own SQLite file (unless a test gives PostgreSQL) and settings.
/// </summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _folder;
    private readonly bool _ownsFolder;

    private RunningServer(WebApplication app, string folder, bool ownsFolder, HttpClient client)
    {
        _app = app;
        _folder = folder;
        _ownsFolder = ownsFolder;
        Client = client;
    }

    /// <summary>Where this server keeps its state (its SQLite files and audit spool).</summary>
    public string StateFolder => _folder;

    public HttpClient Client { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    /// <summary>The call store once every call answered so far has been written (calls are stored off the request path).</summary>
    public async Task<Data.InvocationStore> StoredCallsAsync(CancellationToken cancellationToken)
    {
        await Services.GetRequiredService<Data.InvocationWriter>().FlushAsync(cancellationToken);
        return Services.GetRequiredService<Data.InvocationStore>();
    }

    /// <summary>The audit trail once everything journalled so far is in the chain (records reach it moments after their operations).</summary>
    public async Task<Data.AuditStore> AuditAsync(CancellationToken cancellationToken)
    {
        await Services.GetRequiredService<Data.AuditWriter>().FlushAsync(cancellationToken);
        return Services.GetRequiredService<Data.AuditStore>();
    }

    public IServiceProvider Services => _app.Services;

    public static string RepositoryHooks => Path.Combine(TestServices.RepositoryRoot, "hooks");

    /// <summary>
    /// Builds the server with the given settings; throws what start-up throws. With <paramref name="stateFolder"/> it
    /// keeps its state there (a restart of an earlier server: the caller deletes the folder); otherwise in a folder of
    /// its own, deleted when it stops.
    /// </summary>
    public static async Task<RunningServer> StartAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken,
        Action<WebApplicationBuilder>? configure = null, string? stateFolder = null)
    {
        var folder = stateFolder ?? Directory.CreateTempSubdirectory("healthrec-server-").FullName;
        var app = Program.BuildServer(Arguments(folder, settings), configure);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            if (stateFolder is null)
            {
                Directory.Delete(folder, recursive: true);
            }

            throw;
        }

        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
        return new RunningServer(app, folder, stateFolder is null, client);
    }

    /// <summary>
    /// The command-line settings of a test server keeping its state in <paramref name="folder"/>: the repository's hooks,
    /// models and knowledge, one worker, warnings only, then <paramref name="settings"/> over them. A server started as
    /// its own process (<c>dotnet healthrec.dll serve</c>) takes the same.
    /// </summary>
    public static string[] Arguments(string folder, IReadOnlyDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Storage:SqlitePath"] = Path.Combine(folder, "healthrec.db"),
            ["Storage:AuditSpoolPath"] = Path.Combine(folder, "audit-spool"),
            ["CdsHooks:DefinitionsPath"] = RepositoryHooks,
            ["Models:Path"] = Path.Combine(TestServices.RepositoryRoot, "models"),
            ["Models:TerminologyPath"] = Path.Combine(TestServices.RepositoryRoot, "data", "terminology"),
            ["Models:FeatureSchemaPath"] = Path.Combine(TestServices.RepositoryRoot, "models", "feature-schema.json"),
            ["Knowledge:CatalogPath"] = Path.Combine(TestServices.RepositoryRoot, "data", "knowledge", "interventions.json"),
            ["Knowledge:OutcomesPath"] = Path.Combine(TestServices.RepositoryRoot, "models", "outcomes"),
            ["Jobs:WorkerCount"] = "1",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return [.. all.Select(setting => $"--{setting.Key}={setting.Value}")];
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_ownsFolder)
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}

/// <summary>
/// Servers started in this process share Hangfire's static configuration (JobStorage.Current), so tests that
/// start one run one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SequentialServers
{
    public const string Name = "server";
}
