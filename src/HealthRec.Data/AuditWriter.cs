using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace HealthRec.Data;

/// <summary>
/// Writes audit records for the operations that produce them, through a journal on local disk: an operation's
/// records are appended to the node's journal file before it answers (and it fails if they cannot be), then a single
/// drainer starts a new journal file for the writes that follow, appends everything in the one it took to the hash
/// chain in one transaction (a group commit), and deletes it. The operation pays a file append (tens of microseconds),
/// not a database transaction; the chain is at most a moment behind, and <see cref="FlushAsync"/> waits until it has
/// caught up.
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
    /// <summary>The meter of the audit writer's measurements (<c>dotnet-counters monitor --counters HealthRec.Data</c>).</summary>
    public const string MeterName = "HealthRec.Data";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> JournalDuration = Meter.CreateHistogram<double>("healthrec.audit.journal.duration", "ms",
        "Time an operation waits for its audit records to be written to the node's journal (the lock, the write and the flush to the OS)");
    private static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>("healthrec.audit.append.duration", "ms",
        "Time the drainer takes to append one journal's records to the hash chain (one transaction)");
    private static readonly Histogram<int> AppendRecords = Meter.CreateHistogram<int>("healthrec.audit.append.records", "{record}",
        "Records appended to the hash chain per transaction");

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_lines;
    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    // Journal files are numbered in the order they are written: journal-000000000001.ndjson, ... The one being written
    // is the newest; every older one waits for the drainer. (Before numbered journals, a node wrote journal.ndjson and
    // moved it aside to draining-N.ndjson: such files, left by an older version, are drained first.)
    private const string Prefix = "journal-";
    private const string LegacyCurrent = "journal.ndjson";
    private const string LegacyDrainingPrefix = "draining-";
    private static readonly TimeSpan GroupWindow = TimeSpan.FromMilliseconds(20);
    private const int MaxKept = 20_000;
    private readonly AuditStore _store;
    private readonly string _folder;
    private readonly ILogger<AuditWriter> _logger;
    private readonly Lock _write = new();
    private readonly SemaphoreSlim _drain = new(1, 1);
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _drainer;
    // The records of the journal being written, and of each journal taken and not yet in the chain, kept in memory so
    // that the drainer appends them without reading its own files back. Only a journal found at start-up, one written
    // while the database was down, or one that outgrew MaxKept records (not kept, so that neither an outage nor a drainer
    // kept from the cores for long can fill memory) is read from disk.
    // Only the drainer (under _drain) uses _taken; the writers and the drainer share _journal, _journalPath, _written and _pending under _write.
    private readonly Dictionary<string, List<AuditEntry>> _taken = new(StringComparer.Ordinal);
    private List<AuditEntry>? _pending = [];
    private FileStream _journal;
    private string _journalPath;
    private long _written;
    private long _next;
    private bool _failing;
    private bool _disposed;

    public AuditWriter(AuditStore store, string spoolDirectory, ILogger<AuditWriter> logger)
    {
        _store = store;
        _folder = Path.GetFullPath(spoolDirectory);
        _logger = logger;
        Directory.CreateDirectory(_folder);
        // Journals left by a process that stopped before draining them are drained first, in order; this one writes after them.
        _next = Directory.GetFiles(_folder, Prefix + "*").Select(f => long.TryParse(Path.GetFileNameWithoutExtension(f)[Prefix.Length..], out var n) ? n : 0)
            .DefaultIfEmpty(0).Max() + 1;
        _journalPath = Numbered(_next++);
        _journal = Open(_journalPath);
        var drainer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _drainer = drainer.Task;
        new Thread(() =>
        {
            try
            {
                DrainLoop();
                drainer.SetResult();
            }
            catch (Exception ex)
            {
                drainer.SetException(ex);
            }
        })
        { IsBackground = true, Name = "HealthRec audit drainer" }.Start();
    }

    /// <summary>Whether records wait in the journal for the chain (always briefly; for long while the database is down).</summary>
    public bool Spooling
    {
        get
        {
            string current;
            lock (_write)
            {
                if (_written > 0)
                {
                    return true;
                }

                current = _journalPath;
            }

            return Waiting(current).Any();
        }
    }

    /// <summary>
    /// Journals the records; the task has completed when they are on the node's disk (the chain follows moments later)
    /// and has failed when they could not be written — the operation must then fail too.
    /// </summary>
    public Task WriteAsync(IReadOnlyList<AuditEntry> entries)
    {
        // Each thread reuses its buffer (a call's records are some 15 KB: allocated per call, they would be garbage at once).
        var lines = t_lines ??= new ArrayBufferWriter<byte>(32 * 1024);
        var json = t_json ??= new Utf8JsonWriter(lines);
        lines.ResetWrittenCount();
        foreach (var entry in entries)
        {
            json.Reset(lines);
            WriteLine(json, entry);
            json.Flush();
            lines.Write("\n"u8);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            lock (_write)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _journal.Write(lines.WrittenSpan);
                _journal.Flush();
                _written += lines.WrittenCount;
                if (_pending is not null)
                {
                    if (_pending.Count + entries.Count > MaxKept)
                    {
                        // The drainer has fallen far behind (the cores busy for long): this journal is read back instead.
                        _pending = null;
                    }
                    else
                    {
                        _pending.AddRange(entries);
                    }
                }
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

        finally
        {
            JournalDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (lines.Capacity > 1024 * 1024)
            {
                // An exceptionally large set of records: its buffer is not kept.
                (t_lines, t_json) = (null, null);
            }
        }

        Signal();
        return Task.CompletedTask;
    }

    // A journal line: the record's fields, and the resource as the JSON it is (written raw, so it is neither escaped
    // nor parsed again, and reads back byte for byte: the hash is over those bytes).
    private static void WriteLine(Utf8JsonWriter json, AuditEntry entry)
    {
        json.WriteStartObject();
        json.WriteString("type"u8, entry.ResourceType);
        json.WriteString("id"u8, entry.ResourceId);
        json.WriteString("patient"u8, entry.PatientId);
        json.WriteStartArray("search"u8);
        foreach (var value in entry.Search)
        {
            json.WriteStartArray();
            json.WriteStringValue(value.Name);
            json.WriteStringValue(value.Value);
            json.WriteEndArray();
        }

        json.WriteEndArray();
        json.WritePropertyName("resource"u8);
        json.WriteRawValue(entry.ResourceJson, skipInputValidation: true);
        json.WriteEndObject();
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

    // The drainer's own thread, in the background (BackgroundPriority): appending to the chain is background work (the
    // records are already safe in the journal), so when the cores are busy the calls go first and the chain catches up
    // in the gaps. It waits synchronously so that its work stays on this thread (the
    // database calls of an append complete synchronously on SQLite; on PostgreSQL their continuations may run elsewhere).
    private void DrainLoop()
    {
        BackgroundPriority.Lower();
        var delay = TimeSpan.FromSeconds(1);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // Woken by a write; every second anyway (records left by an outage).
                _signal.Wait(_failing ? delay : TimeSpan.FromSeconds(1), _stop.Token);
                // A short window gathers the calls arriving together into one journal file and one transaction: fewer
                // commits and file swaps per call. The calls do not wait for it; only the chain is that much later.
                if (_stop.Token.WaitHandle.WaitOne(GroupWindow))
                {
                    return;
                }

                FlushAsync(_stop.Token).GetAwaiter().GetResult();
                delay = _failing ? TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(15).Ticks)) : TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The spool folder refused a new journal, a read or a delete: the records stay journalled, and the
                // drainer tries again on its next turn rather than stopping for good.
                LogSpoolProblem(ex.GetType().Name);
            }
        }
    }

    // Takes the journal written so far (the writes that follow go to a new one) and appends every journal taken, oldest
    // first, each in one transaction; a file is deleted once its records are in the chain.
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Read(ref _written) > 0 && !_disposed)
        {
            try
            {
                Rotate();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // No new journal could be created: the writes go on in the current one, taken at a later turn; the
                // journals taken before are still drained.
                LogSpoolProblem(ex.GetType().Name);
            }
        }

        string current;
        lock (_write)
        {
            current = _journalPath;
        }

        foreach (var file in Waiting(current))
        {
            var entries = _taken.GetValueOrDefault(file);

            // Records this process journalled and has not tried to append cannot be in the chain; records read from
            // disk, or whose append failed (perhaps after the database committed it), are looked for first.
            var fresh = entries is not null && !_failing;
            entries ??= await ReadAsync(file, cancellationToken);
            try
            {
                if (entries.Count > 0 && (fresh || !await _store.ContainsAsync(entries[^1].ResourceType, entries[^1].ResourceId, cancellationToken)))
                {
                    var started = Stopwatch.GetTimestamp();
                    await _store.AppendAsync(entries, cancellationToken);
                    AppendDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    AppendRecords.Record(entries.Count);
                }
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
            {
                if (!_failing)
                {
                    LogWaiting(ex.GetType().Name);
                }

                // While the database is down the journals stay on disk only: an outage must not fill memory.
                _taken.Clear();
                lock (_write)
                {
                    _failing = true;
                    _pending = null;
                }

                return;
            }

            File.Delete(file);
            _taken.Remove(file);

            if (_failing)
            {
                lock (_write)
                {
                    _failing = false;
                }

                LogDrained();
            }
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
            if (_written == 0)
            {
                // Nothing was written after the last drain: no empty file is left for the next start.
                File.Delete(_journalPath);
            }
        }

        _stop.Dispose();
    }

    [LoggerMessage(2010, LogLevel.Warning, "The audit trail's database does not take writes ({Error}); audit records wait in the node's journal until it does")]
    private partial void LogWaiting(string error);

    [LoggerMessage(2011, LogLevel.Information, "The audit journal has caught up: every waiting record is in the chain")]
    private partial void LogDrained();

    [LoggerMessage(2013, LogLevel.Warning, "The audit drainer could not use its spool folder ({Error}); the records stay journalled and it tries again")]
    private partial void LogSpoolProblem(string error);

    [LoggerMessage(2012, LogLevel.Critical, "{Records} audit records could not be journalled; their operations fail")]
    private partial void LogLost(Exception exception, int records);
}
