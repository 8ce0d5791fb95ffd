namespace HealthRec.Server.Tests;

/// <summary>
/// A PostgreSQL 15 cluster of its own for one fault test (initdb into a temporary folder, as <c>tests/services.sh</c>
/// does for the shared one), which the test can stop as a crash does (<c>pg_ctl stop -m immediate</c>) and start again
/// on the same port: the real server going away, which stopping the shared server would do to every test running
/// beside this one. Run as the <c>postgres</c> user when the tests run as root (PostgreSQL refuses root).
/// </summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private static readonly string Bin = Environment.GetEnvironmentVariable("PG_BIN") ?? "/usr/lib/postgresql/15/bin";
    private readonly string _folder;
    private readonly int _port;

    private PrivatePostgres(string folder, int port)
    {
        _folder = folder;
        _port = port;
    }

    public string ConnectionString => $"Host=127.0.0.1;Port={_port};Username=postgres;Database=postgres;Timeout=3";

    public static async Task<PrivatePostgres> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            var message = $"PostgreSQL 15 binaries are missing in {Bin} (apt-get install postgresql-15, or set PG_BIN): this fault test starts and stops a cluster of its own.";
            if (TestServices.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        var folder = Directory.CreateTempSubdirectory("healthrec-pg-").FullName;
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["-R", "postgres:postgres", folder], asPostgres: false, folder, cancellationToken);
        }

        await RunAsync(Path.Combine(Bin, "initdb"), ["-D", Path.Combine(folder, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"], asPostgres: true, folder, cancellationToken);
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var postgres = new PrivatePostgres(folder, port);
        await postgres.ComeBackAsync(cancellationToken);
        return postgres;
    }

    /// <summary>The server dies as in a crash: every connection dropped, nothing flushed politely.</summary>
    public Task GoDownAsync(CancellationToken cancellationToken) =>
        RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"], asPostgres: true, _folder, cancellationToken);

    /// <summary>Started (again) on the same port; returns once it accepts connections.</summary>
    public Task ComeBackAsync(CancellationToken cancellationToken) =>
        RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
            "-o", $"-c listen_addresses=127.0.0.1 -p {_port} -c unix_socket_directories={_folder} -c fsync=off -c max_connections=200", "start"],
            asPostgres: true, _folder, cancellationToken);

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres, string folder, CancellationToken cancellationToken)
    {
        var start = asPostgres && Environment.UserName == "root"
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", program, .. arguments])
            : new ProcessStartInfo(program, arguments);
        start.WorkingDirectory = folder;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(program)} failed ({process.ExitCode}): {await output} {await errors}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(Path.Combine(Bin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"], asPostgres: true, _folder, CancellationToken.None);
        }
        catch (Xunit.Sdk.XunitException)
        {
            // Already stopped.
        }

        Directory.Delete(_folder, recursive: true);
    }
}
