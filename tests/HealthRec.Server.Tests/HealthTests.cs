namespace HealthRec.Server.Tests;

[Collection(SequentialServers.Name)]
public sealed class HealthTests
{
    [Fact]
    public async Task GivenEmbeddedDefault_WhenReadinessIsChecked_ThenTheSqliteDatabaseIsHealthy()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        var (status, body) = await GetAsync(server, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", (string)body["checks"]!["database"]!["status"]!);
        Assert.StartsWith("SQLite ", (string)body["checks"]!["database"]!["description"]!, StringComparison.Ordinal);
        Assert.Equal(DatabaseEngine.Sqlite, server.Services.GetRequiredService<HealthRecDatabase>().Engine);
    }

    [Fact]
    public async Task GivenReachablePostgres_WhenReadinessIsChecked_ThenThePostgresDatabaseIsHealthy()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Postgres(database.ConnectionString), Ct);

        var (status, body) = await GetAsync(server, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", (string)body["status"]!);
        Assert.StartsWith("PostgreSQL 127.0.0.1:", (string)body["checks"]!["database"]!["description"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/scalar")]
    [InlineData("/cds-services")]
    [InlineData("/health/live")]
    public async Task GivenAHeadRequest_WhenSent_ThenItIsAnsweredAsItsGetWithoutABody(string path)
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);

        using var head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)), Ct);
        using var get = await server.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task GivenPostgresAndInformationLogging_WhenTheServerWorks_ThenNoSqlStatementIsLogged()
    {
        // Npgsql logs each statement at Information: with Hangfire polling, about 1 MB a node a minute by default.
        await using var database = await PostgresTestDatabase.CreateAsync(Ct);
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        var settings = Postgres(database.ConnectionString);
        settings.Remove("Logging:LogLevel:Default");
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?>(settings) { ["Logging:LogLevel:Default"] = "Information" }, Ct,
            builder => builder.Logging.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs)));

        var (status, _) = await GetAsync(server, "/health/ready");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(logs.GetSnapshot(), r => r.Category?.StartsWith("HealthRec.", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Category?.StartsWith("Npgsql", StringComparison.Ordinal) == true && r.Level < LogLevel.Warning);
    }

    [Fact]
    public async Task GivenUnreachablePostgres_WhenReadinessIsChecked_ThenItIsUnhealthyWhileLivenessStaysHealthy()
    {
        var closedPort = FreeLoopbackPort();
        await using var server = await RunningServer.StartAsync(
            Postgres($"Host=127.0.0.1;Port={closedPort};Username=postgres;Password=not-logged-anywhere;Database=healthrec;Timeout=2"), Ct);

        var (ready, readyBody) = await GetAsync(server, "/health/ready");
        var (live, _) = await GetAsync(server, "/health/live");
        var (discovery, _) = await GetAsync(server, "/cds-services");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
        Assert.Equal("Unhealthy", (string)readyBody["status"]!);
        var description = (string)readyBody["checks"]!["database"]!["description"]!;
        Assert.Contains($"PostgreSQL 127.0.0.1:{closedPort}/healthrec is unreachable", description, StringComparison.Ordinal);
        Assert.DoesNotContain("not-logged-anywhere", readyBody.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live);
        Assert.Equal(HttpStatusCode.OK, discovery);
    }

    [Fact]
    public async Task GivenPostgresThatStopsAnswering_WhenReadinessIsChecked_ThenItTurnsUnhealthy()
    {
        var database = await PostgresTestDatabase.CreateAsync(Ct);
        await using var server = await RunningServer.StartAsync(Postgres(database.ConnectionString), Ct);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(server, "/health/ready")).Status);

        await database.DisposeAsync();

        var (status, body) = await GetAsync(server, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("did not answer", (string)body["checks"]!["database"]!["description"]!, StringComparison.Ordinal);
    }

    internal static Dictionary<string, string?> Postgres(string connectionString) =>
        new() { ["ConnectionStrings:Postgres"] = connectionString };

    private static async Task<(HttpStatusCode Status, JsonNode Body)> GetAsync(RunningServer server, string path)
    {
        var response = await server.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonNode.Parse(text)!);
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
