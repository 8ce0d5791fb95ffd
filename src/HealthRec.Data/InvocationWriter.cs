using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
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
/// by call, so that only the call at fault is lost (and logged). Waiting calls live in memory: a process killed during
/// an outage loses them here, while its audit journal on disk keeps every call and card (see AuditWriter).
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

    public InvocationWriter(InvocationStore store, ILogger<InvocationWriter>? logger = null)
    {
        _store = store;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _writer = Task.Run(WriteAsync);
    }

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

        var pause = FirstPause;
        while (true)
        {
            try
            {
                var stored = await _store.RecordAsync([.. calls.Select(p => (p.Invocation!, p.Cards))], CancellationToken.None);
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

    private sealed record Pending(CdsInvocation? Invocation, IReadOnlyList<CdsCardRecord> Cards, TaskCompletionSource<bool> Done);
}
