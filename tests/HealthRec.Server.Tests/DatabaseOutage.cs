using Npgsql;

namespace HealthRec.Server.Tests;

/// <summary>
/// A TCP relay on loopback in front of the real PostgreSQL that can take the database down: every open connection is
/// reset and new ones are refused until it comes back, as when the database host fails. The database and its protocol
/// stay real; only the network between HealthRec and it is cut, a fault injected at the system's edge (stopping the
/// shared test server would take the database away from every other test too).
/// </summary>
internal sealed class DatabaseOutage : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Server)> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly string _host;
    private readonly int _port;
    private readonly Task _accepting;
    private volatile bool _down;
    private int _connections;

    public DatabaseOutage(string connectionString)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        _host = target.Host!;
        _port = target.Port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The same database, reached through this relay.</summary>
    public static string Through(DatabaseOutage relay, string connectionString) => new NpgsqlConnectionStringBuilder(connectionString)
    {
        Host = "127.0.0.1",
        Port = ((IPEndPoint)relay._listener.LocalEndpoint).Port,
        Timeout = 3,
    }.ConnectionString;

    public void GoDown()
    {
        _down = true;
        foreach (var id in _open.Keys)
        {
            if (_open.TryRemove(id, out var pair))
            {
                Reset(pair.Client);
                pair.Server.Dispose();
            }
        }
    }

    public void ComeBack() => _down = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_down)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        var id = Interlocked.Increment(ref _connections);
        try
        {
            await server.ConnectAsync(_host, _port, _stop.Token);
            _open[id] = (client, server);
            if (_down)
            {
                GoDown();
            }

            var toServer = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
            var toClient = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(toServer, toClient);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The outage, or the end of the test: the connection is gone either way.
        }
        finally
        {
            _open.TryRemove(id, out _);
            client.Dispose();
        }
    }

    // A reset, not a polite close: what a client sees when the host behind it fails.
    private static void Reset(TcpClient client)
    {
        try
        {
            client.Client.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        client.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        GoDown();
        await _accepting;
        _stop.Dispose();
    }
}
