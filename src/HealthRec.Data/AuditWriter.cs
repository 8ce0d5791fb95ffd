using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace HealthRec.Data;

/// <summary>
/// Writes audit records for the operations that produce them, through a journal on local disk: an operation's
/// records are appended to the node's journal file before it answers (and it fails if they cannot be), then a single
/// drainer appends everything journalled since its last turn to the hash chain in one transaction (a group commit),
/// and deletes the journal file it took. The operation pays a file append (tens of microseconds), not a database
/// transaction; the chain is at most a moment behind, and <see cref="FlushAsync"/> waits until it has caught up.
/// <para>
/// The journal is flushed to the operating system on every write: a crash of the process loses nothing (the journal
/// is drained when the node starts again), as with SQLite's WAL at <c>synchronous=NORMAL</c>. While the database cannot
/// take writes (an outage) the journal keeps the records, in order, and they join the chain when it can —
/// store-and-forward, as IHE ATNA asks of audit sources. A journal file whose records reached the chain before a crash
/// could delete it is recognised by its last record's id and not appended twice.
/// </para>
/// </summary>
public sealed partial class AuditWriter : IAsyncDisposable
{
    private const string Current = "journal.ndjson";
    private const string DrainingPrefix = "draining-";
    private static readonly TimeSpan GroupWindow = TimeSpan.FromMilliseconds(20);
    private readonly AuditStore _store;
    private readonly string _folder;
    private readonly ILogger<AuditWriter> _logger;
    private readonly Lock _write = new();
    private readonly SemaphoreSlim _drain = new(1, 1);
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _drainer;
    private FileStream _journal;
    private long _next;
    private bool _failing;
    private bool _disposed;

    public AuditWriter(AuditStore store, string spoolDirectory, ILogger<AuditWriter> logger)
    {
        _store = store;
        _folder = Path.GetFullPath(spoolDirectory);
        _logger = logger;
        Directory.CreateDirectory(_folder);
        _next = Directory.GetFiles(_folder, DrainingPrefix + "*").Select(f => long.TryParse(Path.GetFileNameWithoutExtension(f)[DrainingPrefix.Length..], out var n) ? n : 0)
            .DefaultIfEmpty(0).Max() + 1;
        // A journal left by a process that stopped before draining it is drained first, in order.
        var left = Path.Combine(_folder, Current);
        if (File.Exists(left) && new FileInfo(left).Length > 0)
        {
            File.Move(left, Draining(_next++));
        }

        _journal = Open();
        _drainer = Task.Run(DrainLoopAsync);
    }

    /// <summary>Whether records wait in the journal for the chain (always briefly; for long while the database is down).</summary>
    public bool Spooling
    {
        get
        {
            lock (_write)
            {
                return _journal.Length > 0 || Directory.GetFiles(_folder, DrainingPrefix + "*").Length > 0;
            }
        }
    }

    /// <summary>
    /// Journals the records; the task has completed when they are on the node's disk (the chain follows moments later)
    /// and has failed when they could not be written — the operation must then fail too.
    /// </summary>
    public Task WriteAsync(IReadOnlyList<AuditEntry> entries)
    {
        var lines = new MemoryStream();
        foreach (var entry in entries)
        {
            JsonSerializer.Serialize(lines, entry);
            lines.WriteByte((byte)'\n');
        }

        try
        {
            lock (_write)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _journal.Write(lines.GetBuffer(), 0, (int)lines.Length);
                _journal.Flush();
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogLost(ex, entries.Count);
            return Task.FromException(new AggregateException("The audit records could not be written to the journal.", ex));
        }
        catch (ObjectDisposedException ex)
        {
            return Task.FromException(new AggregateException("The audit writer has stopped.", ex));
        }

        Signal();
        return Task.CompletedTask;
    }

    /// <summary>Completes when everything journalled before it is in the chain, or the chain could not take it (the database is down).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _drain.WaitAsync(cancellationToken);
        try
        {
            await DrainAsync(cancellationToken);
        }
        finally
        {
            _drain.Release();
        }
    }

    private void Signal()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another writer signalled first: one drain takes both.
            }
        }
    }

    private async Task DrainLoopAsync()
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // Woken by a write; every second anyway (records left by an outage).
                await _signal.WaitAsync(_failing ? delay : TimeSpan.FromSeconds(1), _stop.Token);
                // A short window gathers the calls arriving together into one journal file and one transaction: fewer
                // commits and file swaps per call. The calls do not wait for it; only the chain is that much later.
                await Task.Delay(GroupWindow, _stop.Token);
                await FlushAsync(_stop.Token);
                delay = _failing ? TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(15).Ticks)) : TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // Takes the journal written so far (a new one is opened for the writes that follow) and appends every journal
    // taken, oldest first, each in one transaction; a file is deleted once its records are in the chain.
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        lock (_write)
        {
            if (!_disposed && _journal.Length > 0)
            {
                _journal.Dispose();
                File.Move(Path.Combine(_folder, Current), Draining(_next++));
                _journal = Open();
            }
        }

        foreach (var file in Directory.GetFiles(_folder, DrainingPrefix + "*").OrderBy(f => f, StringComparer.Ordinal))
        {
            var entries = await ReadAsync(file, cancellationToken);
            try
            {
                if (entries.Count > 0 && !await _store.ContainsAsync(entries[^1].ResourceType, entries[^1].ResourceId, cancellationToken))
                {
                    await _store.AppendAsync(entries, cancellationToken);
                }
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                if (!_failing)
                {
                    LogWaiting(ex.GetType().Name);
                }

                _failing = true;
                return;
            }

            File.Delete(file);
            if (_failing)
            {
                _failing = false;
                LogDrained();
            }
        }
    }

    private string Draining(long n) => Path.Combine(_folder, $"{DrainingPrefix}{n:D12}.ndjson");

    private FileStream Open() => new(Path.Combine(_folder, Current), FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024);

    private static async Task<List<AuditEntry>> ReadAsync(string file, CancellationToken cancellationToken)
    {
        var entries = new List<AuditEntry>();
        using var reader = new StreamReader(file, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _drainer;
        }
        catch (OperationCanceledException)
        {
        }

        // A last drain; what the database cannot take stays journalled for the next start.
        await FlushAsync(CancellationToken.None);
        lock (_write)
        {
            _disposed = true;
            _journal.Dispose();
        }

        _stop.Dispose();
    }

    [LoggerMessage(2010, LogLevel.Warning, "The audit trail's database does not take writes ({Error}); audit records wait in the node's journal until it does")]
    private partial void LogWaiting(string error);

    [LoggerMessage(2011, LogLevel.Information, "The audit journal has caught up: every waiting record is in the chain")]
    private partial void LogDrained();

    [LoggerMessage(2012, LogLevel.Critical, "{Records} audit records could not be journalled; their operations fail")]
    private partial void LogLost(Exception exception, int records);
}
