using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;

namespace HealthRec.Data;

/// <summary>
/// Stores CDS Hooks calls off the request path, with group commits: one writer takes every call waiting and stores
/// them in one transaction. The hook answers without waiting for the disk (SQLite allows one writer at a time, and a
/// commit that runs a WAL checkpoint can take tens of milliseconds); the call is stored moments later, in order.
/// <see cref="FlushAsync"/> waits until everything handed over so far is committed — feedback uses it before it calls a
/// card unknown, so a card the EHR has seen is always found.
/// <para>
/// While the database cannot be reached (an outage: a transient error) the calls wait here, in order, and the batch is
/// tried again with a growing pause (0.25 s, doubling to 10 s) until it is stored: a card answered during an outage
/// is found by feedback once the database is back. A batch the database refuses for another reason is stored call
/// by call, so that only the call at fault is lost (and logged).
/// </para>
/// <para>
/// With a spool folder (the audit spool folder on a server), every batch is appended to <c>calls-waiting.ndjson</c>
/// and flushed to the node's disk before it is committed, and the file is removed once nothing spooled waits: a node
/// killed while a batch is being committed, or during an outage, stores those calls when it starts again (a call
/// stored twice keeps its first record), so feedback on their cards is accepted. This costs the writer one flushed
/// append and one delete per batch; the hook's answer does not wait for either.
/// </para>
/// </summary>
public sealed partial class InvocationWriter : IAsyncDisposable
{
    private const int MaxBatch = 128;
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(10);
    private readonly InvocationStore _store;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;

    private static readonly JsonSerializerOptions SpoolJson = new(JsonSerializerDefaults.Web);
    private readonly string? _spool;
    // Spooled calls not yet stored (or given up): the spool file goes once there are none. Only the writer task (and the
    // constructor, before it starts) touches it.
    private int _spooledWaiting;

    public InvocationWriter(InvocationStore store, ILogger<InvocationWriter>? logger = null, string? spoolDirectory = null)
    {
        _store = store;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        if (spoolDirectory is not null)
        {
            Directory.CreateDirectory(spoolDirectory);
            _spool = Path.Combine(spoolDirectory, "calls-waiting.ndjson");
            foreach (var call in Spooled(_spool))
            {
                // Already on disk: not appended again if the database is still away.
                _queue.Writer.TryWrite(new Pending(call.Invocation, call.Cards, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)) { Spooled = true });
                _spooledWaiting++;
            }
        }

        _writer = Task.Run(WriteAsync);
    }

    [LoggerMessage(EventId = 7022, Level = LogLevel.Warning, Message = "A line of the waiting-calls spool could not be read and is left out")]
    private static partial void UnreadableSpoolLine(ILogger logger, Exception exception);

    private IEnumerable<SpooledCall> Spooled(string path)
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        foreach (var line in File.ReadLines(path))
        {
            SpooledCall? call = null;
            try
            {
                call = JsonSerializer.Deserialize<SpooledCall>(line, SpoolJson);
            }
            catch (JsonException ex)
            {
                // A line cut short by the kill itself.
                UnreadableSpoolLine(_logger, ex);
            }

            if (call?.Invocation is not null)
            {
                yield return call;
            }
        }
    }

    private void Spool(List<Pending> calls)
    {
        if (_spool is null)
        {
            return;
        }

        var fresh = calls.Where(p => !p.Spooled).ToList();
        if (fresh.Count == 0)
        {
            return;
        }

        try
        {
            using var file = new FileStream(_spool, FileMode.Append, FileAccess.Write, FileShare.Read);
            foreach (var pending in fresh)
            {
                file.Write(JsonSerializer.SerializeToUtf8Bytes(new SpooledCall(pending.Invocation!, [.. pending.Cards]), SpoolJson));
                file.WriteByte((byte)'\n');
            }

            file.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk: the calls are still committed, only not safe from a kill in the meantime.
            UnwritableSpool(_logger, ex);
            return;
        }

        foreach (var pending in fresh)
        {
            pending.Spooled = true;
            _spooledWaiting++;
        }
    }

    [LoggerMessage(EventId = 7023, Level = LogLevel.Warning, Message = "CDS calls could not be written ahead to the spool file; they are committed, but a kill before the commit would lose them")]
    private static partial void UnwritableSpool(ILogger logger, Exception exception);

    // Settled calls leave the count; when no spooled call waits any more, whatever the spool held is stored.
    private void Settled(List<Pending> calls)
    {
        _spooledWaiting -= calls.Count(p => p.Spooled);
        if (_spool is not null && _spooledWaiting == 0)
        {
            try
            {
                File.Delete(_spool);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left behind: its calls are replayed at the next start and kept once.
                UnwritableSpool(_logger, ex);
            }
        }
    }

    private sealed record SpooledCall(CdsInvocation Invocation, List<CdsCardRecord> Cards);

    [LoggerMessage(EventId = 7020, Level = LogLevel.Warning, Message = "CDS calls cannot be stored now (the database is unreachable); they wait in memory and are stored when it answers")]
    private static partial void LogWaiting(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7021, Level = LogLevel.Information, Message = "The database answers again: CDS calls that waited for it are being stored ({Count} in the first batch)")]
    private static partial void LogCaughtUp(ILogger logger, int count);

    /// <summary>
    /// Hands the call and its cards to the writer; the task completes when they are committed (true when new: a repeated
    /// hookInstance keeps the first record) or fails with the database's error.
    /// </summary>
    public Task<bool> RecordAsync(CdsInvocation invocation, IReadOnlyList<CdsCardRecord> cards)
    {
        var pending = new Pending(invocation, cards, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return pending.Done.Task;
    }

    /// <summary>Completes when every call handed over before it has been committed (or has failed).</summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        var marker = new Pending(null, [], new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(marker) ? marker.Done.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Whether calls are waiting for the database (it was unreachable at the last attempt).</summary>
    public bool Waiting { get; private set; }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            var calls = batch.Where(p => p.Invocation is not null).ToList();
            await StoreAsync(calls);
            foreach (var marker in batch.Where(p => p.Invocation is null))
            {
                marker.Done.TrySetResult(true);
            }

            batch.Clear();
        }
    }

    private async Task StoreAsync(List<Pending> calls)
    {
        if (calls.Count == 0)
        {
            return;
        }

        // Written ahead: a kill during the commit must not lose the calls whose cards the EHR already shows.
        Spool(calls);
        var pause = FirstPause;
        while (true)
        {
            try
            {
                var stored = await _store.RecordAsync([.. calls.Select(p => (p.Invocation!, p.Cards))], CancellationToken.None);
                // Settled first: a caller told its call is stored finds no write-ahead left for it.
                Settled(calls);
                for (var i = 0; i < calls.Count; i++)
                {
                    calls[i].Done.TrySetResult(stored[i]);
                }

                if (Waiting)
                {
                    Waiting = false;
                    LogCaughtUp(_logger, calls.Count);
                }

                return;
            }
            catch (Exception ex) when (Transient(ex) && !_stop.IsCancellationRequested)
            {
                if (!Waiting)
                {
                    Waiting = true;
                    LogWaiting(_logger, ex);
                }

                try
                {
                    await Task.Delay(pause, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: the calls still waiting are given up (each caller hears why below).
                }

                pause = TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, pause.Ticks * 2));
            }
            catch (Exception ex)
            {
                if (calls.Count > 1)
                {
                    // The batch was refused as a whole: store the calls one by one, so that only the one at fault fails.
                    foreach (var call in calls)
                    {
                        await StoreAsync([call]);
                    }
                }
                else
                {
                    calls[0].Done.TrySetException(ex);
                    if (!Transient(ex))
                    {
                        // Refused for good: it will not be stored by replaying it either.
                        Settled(calls);
                    }
                }

                return;
            }
        }
    }

    // The database unreachable or busy (Npgsql and SQLite mark these transient), as opposed to a call it refused.
    private static bool Transient(Exception ex) =>
        ex is DbException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException or IOException
        || (ex.InnerException is { } inner && Transient(inner));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync();
        await _writer;
        _stop.Dispose();
    }

    private sealed record Pending(CdsInvocation? Invocation, IReadOnlyList<CdsCardRecord> Cards, TaskCompletionSource<bool> Done)
    {
        /// <summary>Whether it is in the spool file already.</summary>
        public bool Spooled { get; set; }
    }
}
