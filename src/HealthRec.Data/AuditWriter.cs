using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace HealthRec.Data;

/// <summary>
/// Appends audit records for the operations that produce them, with group commits: one writer takes every record
/// waiting and appends them to the chain in one transaction, so a busy server pays one commit for many operations.
/// The operation waits for its records (<see cref="WriteAsync"/>): they are written before it answers, or it fails.
/// <para>
/// When the database cannot take them (an outage), the records go to a local spool file, flushed to disk before the
/// operation answers (store-and-forward, as IHE ATNA asks of audit sources), and are appended to the chain, first and
/// in order, as soon as the database takes writes again. Only when neither can be written does the operation fail.
/// </para>
/// </summary>
public sealed partial class AuditWriter : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private readonly AuditStore _store;
    private readonly string _spool;
    private readonly ILogger<AuditWriter> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly Timer _drain;

    public AuditWriter(AuditStore store, string spoolDirectory, ILogger<AuditWriter> logger)
    {
        _store = store;
        _spool = Path.Combine(spoolDirectory, "audit-spool.ndjson");
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
        // While records wait in the spool and nothing else is written, try the database every 15 s.
        _drain = new Timer(_ => { if (File.Exists(_spool)) { _queue.Writer.TryWrite(new Pending([], null)); } }, null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
    }

    /// <summary>Whether records wait in the spool for the database.</summary>
    public bool Spooling => File.Exists(_spool);

    /// <summary>Completes when the records are in the chain or durably spooled; fails when neither could be written.</summary>
    public Task WriteAsync(IReadOnlyList<AuditEntry> entries)
    {
        var pending = new Pending(entries, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return pending.Done!.Task;
    }

    /// <summary>Completes when everything handed over before it has been written, and spooled records have been tried again.</summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        var marker = new Pending([], new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return _queue.Writer.TryWrite(marker) ? marker.Done!.Task.WaitAsync(cancellationToken) : Task.CompletedTask;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            var entries = batch.SelectMany(p => p.Entries).ToList();
            Exception? failure = null;
            try
            {
                var spooled = await ReadSpoolAsync();
                if (spooled.Count + entries.Count > 0)
                {
                    await _store.AppendAsync([.. spooled, .. entries], CancellationToken.None);
                }

                if (spooled.Count > 0)
                {
                    File.Delete(_spool);
                    LogDrained(spooled.Count);
                }
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or IOException or TimeoutException or InvalidOperationException)
            {
                // The database did not take the batch: keep the records on disk, to be appended when it does.
                try
                {
                    if (entries.Count > 0)
                    {
                        await SpoolAsync(entries);
                        LogSpooled(ex.GetType().Name, entries.Count);
                    }
                }
                catch (Exception spoolFailure) when (spoolFailure is IOException or UnauthorizedAccessException)
                {
                    failure = new AggregateException("The audit records could be written neither to the database nor to the spool.", ex, spoolFailure);
                    LogLost(failure, entries.Count);
                }
            }

            foreach (var pending in batch)
            {
                if (failure is null)
                {
                    pending.Done?.TrySetResult();
                }
                else
                {
                    pending.Done?.TrySetException(failure);
                }
            }

            batch.Clear();
        }
    }

    private async Task<List<AuditEntry>> ReadSpoolAsync()
    {
        var entries = new List<AuditEntry>();
        if (!File.Exists(_spool))
        {
            return entries;
        }

        using var reader = new StreamReader(_spool, Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            // A line cut short by a crash mid-write is the only thing that can fail to parse; the records before it stand.
            if (line.Length > 0 && TryParse(line) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    private static AuditEntry? TryParse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize<AuditEntry>(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task SpoolAsync(List<AuditEntry> entries)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_spool)!);
        await using var stream = new FileStream(_spool, FileMode.Append, FileAccess.Write, FileShare.Read);
        foreach (var entry in entries)
        {
            await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(entry));
            stream.WriteByte((byte)'\n');
        }

        stream.Flush(flushToDisk: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _drain.DisposeAsync();
        _queue.Writer.TryComplete();
        await _writer;
    }

    private sealed record Pending(IReadOnlyList<AuditEntry> Entries, TaskCompletionSource? Done);

    [LoggerMessage(2010, LogLevel.Warning, "The audit trail's database did not take {Records} records ({Error}); they are spooled on local disk until it does")]
    private partial void LogSpooled(string error, int records);

    [LoggerMessage(2011, LogLevel.Information, "Appended {Records} spooled audit records to the chain")]
    private partial void LogDrained(int records);

    [LoggerMessage(2012, LogLevel.Critical, "{Records} audit records could be written neither to the database nor to the spool; their operations fail")]
    private partial void LogLost(Exception exception, int records);
}
