using System.Threading.Channels;

namespace HealthRec.Data;

/// <summary>
/// Stores CDS Hooks calls off the request path, with group commits: one writer takes every call waiting and stores
/// them in one transaction. The hook answers without waiting for the disk (SQLite allows one writer at a time, and a
/// commit that runs a WAL checkpoint can take tens of milliseconds); the call is stored moments later, in order.
/// <see cref="FlushAsync"/> waits until everything handed over so far is committed — feedback uses it before it calls a
/// card unknown, so a card the EHR has seen is always found.
/// </summary>
public sealed class InvocationWriter : IAsyncDisposable
{
    private const int MaxBatch = 128;
    private readonly InvocationStore _store;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    public InvocationWriter(InvocationStore store)
    {
        _store = store;
        _writer = Task.Run(WriteAsync);
    }

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
            try
            {
                var stored = calls.Count == 0 ? [] : await _store.RecordAsync([.. calls.Select(p => (p.Invocation!, p.Cards))], CancellationToken.None);
                for (var i = 0; i < calls.Count; i++)
                {
                    calls[i].Done.TrySetResult(stored[i]);
                }
            }
            catch (Exception ex)
            {
                // The database is down or refused the batch: every caller hears it (the hook has answered already).
                foreach (var pending in calls)
                {
                    pending.Done.TrySetException(ex);
                }
            }

            foreach (var marker in batch.Where(p => p.Invocation is null))
            {
                marker.Done.TrySetResult(true);
            }

            batch.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    private sealed record Pending(CdsInvocation? Invocation, IReadOnlyList<CdsCardRecord> Cards, TaskCompletionSource<bool> Done);
}
