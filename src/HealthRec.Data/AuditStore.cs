namespace HealthRec.Data;

/// <summary>
/// The tamper-evident audit trail on either engine. Records are only ever appended (the database's triggers refuse
/// UPDATE and DELETE); each stores SHA-256 over the previous record's hash and its own content, so a record changed,
/// removed or moved breaks the chain at that place, which <see cref="VerifyAsync(CancellationToken)"/> reports. Appends are serialized
/// (an advisory lock on PostgreSQL, SQLite's write lock) so that two writers never chain onto the same record. An append
/// that fails throws: the operation it records must fail with it rather than go unrecorded.
/// </summary>
public sealed class AuditStore(HealthRecDatabase database, TimeProvider time)
{
    /// <summary>The previous hash of the first record.</summary>
    public static readonly string Genesis = new('0', 64);

    // An arbitrary constant naming the audit append lock among the database's advisory locks.
    private const long AppendLock = 7_421_001;
    private const string Columns = "seq, recorded_at, resource_type, resource_id, patient_id, resource, prev_hash, hash";

    public async Task<IReadOnlyList<AuditRecord>> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await BeginChainTransactionAsync(connection, cancellationToken);

        long seq = 0;
        var previous = Genesis;
        await using (var last = connection.CreateCommand("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1", transaction))
        await using (var reader = await last.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                (seq, previous) = (reader.GetInt64(0), reader.GetString(1));
            }
        }

        var now = time.GetUtcNow();
        // Microseconds: what PostgreSQL keeps, so that the hash reads back the same on both engines.
        var at = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);
        var appended = new List<AuditRecord>(entries.Count);
        // One command for the records, its parameters rebound per row (the statement is prepared once); the search
        // values of the whole batch go in one statement (a row each costs more than the record).
        await using var insert = connection.CreateCommand(
            $"INSERT INTO audit_record ({Columns}) VALUES (@seq, @at, @type, @id, @patient, @resource, @prev, @hash)", transaction);
        insert.With("seq", 0L).With("at", at).With("type", "").With("id", "").With("patient", null).With("resource", "").With("prev", "").With("hash", "");
        var index = new SearchRows(entries.Sum(e => e.Search.Count));
        foreach (var entry in entries)
        {
            seq++;
            var hash = Hash(previous, seq, at, entry.ResourceType, entry.ResourceId, entry.PatientId, entry.ResourceJson);
            Bind(insert, seq, at, entry.ResourceType, entry.ResourceId, (object?)entry.PatientId ?? DBNull.Value, entry.ResourceJson, previous, hash);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            foreach (var value in entry.Search)
            {
                index.Add(seq, value);
            }

            appended.Add(new AuditRecord(seq, at, entry.ResourceType, entry.ResourceId, entry.PatientId, entry.ResourceJson, previous, hash));
            previous = hash;
        }

        if (index.Count > 0)
        {
            await using var search = index.Command(connection, transaction, database.Engine);
            await search.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return appended;
    }

    // The search values of a batch, inserted by one statement: arrays unnested on PostgreSQL, a JSON array of
    // [seq, name, value] rows read by json_each on SQLite.
    private sealed class SearchRows(int capacity)
    {
        private readonly long[] _seqs = new long[capacity];
        private readonly string[] _names = new string[capacity];
        private readonly string[] _values = new string[capacity];

        public int Count { get; private set; }

        public void Add(long seq, AuditSearchValue value)
        {
            (_seqs[Count], _names[Count], _values[Count]) = (seq, value.Name, value.Value);
            Count++;
        }

        public DbCommand Command(DbConnection connection, DbTransaction transaction, DatabaseEngine engine)
        {
            if (engine == DatabaseEngine.Postgres)
            {
                return connection.CreateCommand("INSERT INTO audit_search (seq, name, value) SELECT * FROM unnest(@seqs, @names, @values)", transaction)
                    .With("seqs", _seqs[..Count]).With("names", _names[..Count]).With("values", _values[..Count]);
            }

            var rows = new ArrayBufferWriter<byte>(Count * 48);
            using (var json = new Utf8JsonWriter(rows))
            {
                json.WriteStartArray();
                for (var i = 0; i < Count; i++)
                {
                    json.WriteStartArray();
                    json.WriteNumberValue(_seqs[i]);
                    json.WriteStringValue(_names[i]);
                    json.WriteStringValue(_values[i]);
                    json.WriteEndArray();
                }

                json.WriteEndArray();
            }

            return connection.CreateCommand("INSERT INTO audit_search (seq, name, value) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), " +
                "json_extract(value, '$[2]') FROM json_each(@rows)", transaction).With("rows", Encoding.UTF8.GetString(rows.WrittenSpan));
        }
    }

    // A transaction that owns the end of the chain: on SQLite a transaction that is not deferred (Microsoft.Data.Sqlite's
    // default) holds the write lock from its start, so no other writer reads the same end of the chain; on PostgreSQL an
    // advisory lock, held to the transaction's end, does the same.
    private async Task<DbTransaction> BeginChainTransactionAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (database.Engine == DatabaseEngine.Postgres)
        {
            await using var @lock = connection.CreateCommand($"SELECT pg_advisory_xact_lock({AppendLock})", transaction);
            await @lock.ExecuteNonQueryAsync(cancellationToken);
        }

        return transaction;
    }

    private static void Bind(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }

    /// <summary>Whether the chain holds a record of this resource (a journal drained before a crash is not appended twice).</summary>
    public async Task<bool> ContainsAsync(string resourceType, string resourceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand("SELECT 1 FROM audit_record WHERE resource_id = @id AND resource_type = @type");
        select.With("id", resourceId).With("type", resourceType);
        return await select.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Every record in chain order, read as it is stored (nothing is checked here).</summary>
    public async IAsyncEnumerable<AuditRecord> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand($"SELECT {Columns} FROM audit_record ORDER BY seq");
        await foreach (var record in select.ReadEachAsync(Read, cancellationToken))
        {
            yield return record;
        }
    }

    /// <summary>Walks the chain from the first record and reports the first place where it breaks.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        // Records past retention may have been archived: the chain that remains starts after the last archive's record.
        var (through, lastHash) = await AnchorAsync(cancellationToken);
        return await VerifyAsync(ReadAsync(cancellationToken), through + 1, lastHash, cancellationToken);
    }

    /// <summary>Walks records in chain order from <paramref name="firstSeq"/>, whose predecessor's hash is <paramref name="previousHash"/>.</summary>
    public static async Task<AuditVerification> VerifyAsync(IAsyncEnumerable<AuditRecord> records, long firstSeq, string previousHash, CancellationToken cancellationToken)
    {
        long count = 0;
        var expected = firstSeq;
        var previous = previousHash;
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            count++;
            if (record.Seq != expected)
            {
                return new AuditVerification(count, record.Seq, string.Create(CultureInfo.InvariantCulture,
                    $"record {expected}{(record.Seq > expected + 1 ? $" to {record.Seq - 1}" : "")} is missing: the chain goes from {expected - 1} to {record.Seq}"));
            }

            if (!string.Equals(record.PreviousHash, previous, StringComparison.Ordinal))
            {
                return new AuditVerification(count, record.Seq, string.Create(CultureInfo.InvariantCulture,
                    $"record {record.Seq} does not follow record {record.Seq - 1}: a record before it was removed, replaced or moved"));
            }

            if (!string.Equals(Hash(record.PreviousHash, record.Seq, record.RecordedAt, record.ResourceType, record.ResourceId, record.PatientId, record.ResourceJson),
                record.Hash, StringComparison.Ordinal))
            {
                return new AuditVerification(count, record.Seq, string.Create(CultureInfo.InvariantCulture,
                    $"record {record.Seq} does not match its hash: its content was changed"));
            }

            previous = record.Hash;
            expected++;
        }

        return new AuditVerification(count, null, null);
    }

    /// <summary>
    /// One page of records matching <paramref name="query"/>, newest first, and how many match in all. Pages go back
    /// through the chain: the next page is the same query with <see cref="AuditQuery.Before"/> set to the last record's seq.
    /// </summary>
    public async Task<(IReadOnlyList<AuditRecord> Page, long Total)> SearchAsync(AuditQuery query, int count, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        long total;
        await using (var counting = Where(connection.CreateCommand(""), query with { Before = null }, "SELECT COUNT(*) FROM audit_record r", ""))
        {
            total = Convert.ToInt64(await counting.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        var page = new List<AuditRecord>(Math.Min(count, 1000));
        await using var select = Where(connection.CreateCommand(""), query, $"SELECT {Prefixed} FROM audit_record r", " ORDER BY r.seq DESC LIMIT @count");
        select.With("count", count);
        page.AddRange(await select.ReadListAsync(Read, cancellationToken));

        return (page, total);
    }

    /// <summary>Every record matching <paramref name="query"/>, in chain order (oldest first): what an export writes.</summary>
    public async IAsyncEnumerable<AuditRecord> ExportAsync(AuditQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = Where(connection.CreateCommand(""), query, $"SELECT {Prefixed} FROM audit_record r", " ORDER BY r.seq");
        await foreach (var record in select.ReadEachAsync(Read, cancellationToken))
        {
            yield return record;
        }
    }

    private const string Prefixed = "r.seq, r.recorded_at, r.resource_type, r.resource_id, r.patient_id, r.resource, r.prev_hash, r.hash";

    private static DbCommand Where(DbCommand command, AuditQuery query, string select, string tail)
    {
        var sql = new StringBuilder(select).Append(" WHERE r.resource_type = @type");
        command.With("type", query.ResourceType);
        var n = 0;
        foreach (var filter in query.Filters)
        {
            var names = filter.Values.Select(v => { var p = $"v{n++}"; command.With(p, v); return "@" + p; }).ToList();
            var name = $"n{n++}";
            command.With(name, filter.Name);
            sql.Append(CultureInfo.InvariantCulture,
                $" AND {(filter.Negated ? "NOT " : "")}EXISTS (SELECT 1 FROM audit_search s WHERE s.seq = r.seq AND s.name = @{name} AND s.value IN ({string.Join(", ", names)}))");
        }

        foreach (var range in query.Ranges)
        {
            var (name, value) = ($"n{n++}", $"v{n++}");
            command.With(name, range.Name).With(value, range.Value);
            var op = range.Bound switch { AuditBound.AtLeast => ">=", AuditBound.Above => ">", AuditBound.AtMost => "<=", _ => "<" };
            sql.Append(CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM audit_search s WHERE s.seq = r.seq AND s.name = @{name} AND s.value {op} @{value})");
        }

        if (query.Before is { } before)
        {
            sql.Append(" AND r.seq < @before");
            command.With("before", before);
        }

        command.CommandText = sql.Append(tail).ToString();
        return command;
    }

    /// <summary>Where the remaining chain starts: the last archive's last record and its hash (0 and the genesis hash before any archive).</summary>
    public async Task<(long Through, string Hash)> AnchorAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand("SELECT archived_through, last_hash FROM audit_archive ORDER BY archived_through DESC LIMIT 1");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : (0, Genesis);
    }

    /// <summary>
    /// Archives the records appended before <paramref name="cutoff"/> (retention): verifies the chain, writes those
    /// records with their hashes to an NDJSON file in <paramref name="directory"/>, reads the file back and verifies its
    /// chain and count, records the archive (its last record's hash anchors the remaining chain), and only then removes
    /// the archived records — the one removal the database's triggers allow, of records an archive row covers.
    /// Null when nothing is past retention. Throws, removing nothing, when the chain or the file does not verify.
    /// </summary>
    public async Task<AuditArchive?> ArchiveAsync(DateTimeOffset cutoff, string directory, CancellationToken cancellationToken)
    {
        var verification = await VerifyAsync(cancellationToken);
        if (!verification.Intact)
        {
            throw new InvalidOperationException($"The audit trail is broken at record {verification.BrokenAt} ({verification.Problem}); nothing is archived until it is investigated.");
        }

        var (anchor, anchorHash) = await AnchorAsync(cancellationToken);
        var records = new List<AuditRecord>();
        await foreach (var record in ReadAsync(cancellationToken))
        {
            if (record.RecordedAt >= cutoff)
            {
                break;
            }

            records.Add(record);
        }

        if (records.Count == 0)
        {
            return null;
        }

        var (first, through) = (records[0].Seq, records[^1].Seq);
        Directory.CreateDirectory(directory);
        var file = Path.GetFullPath(Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"audit-archive-{first:D12}-{through:D12}.ndjson")));
        await using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            foreach (var record in records)
            {
                await System.Text.Json.JsonSerializer.SerializeAsync(stream, record, cancellationToken: cancellationToken);
                stream.WriteByte((byte)'\n');
            }

            stream.Flush(flushToDisk: true);
        }

        // Read back what is on disk: the archive must hold the same chain before anything is removed.
        var written = await VerifyAsync(ReadArchiveAsync(file, cancellationToken), anchor + 1, anchorHash, cancellationToken);
        if (!written.Intact || written.Records != records.Count)
        {
            throw new InvalidOperationException($"The archive {file} does not verify ({written.Problem ?? $"{written.Records} of {records.Count} records"}); nothing was removed.");
        }

        string sha;
        await using (var read = File.OpenRead(file))
        {
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellationToken));
        }

        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await BeginChainTransactionAsync(connection, cancellationToken);

        await using (var insert = connection.CreateCommand(
            "INSERT INTO audit_archive (archived_through, archived_at, last_hash, records, file, file_sha256) VALUES (@through, @at, @hash, @records, @file, @sha)", transaction))
        {
            insert.With("through", through).With("at", time.GetUtcNow()).With("hash", records[^1].Hash).With("records", (long)records.Count).With("file", file).With("sha", sha);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var table in new[] { "audit_search", "audit_record" })
        {
            await using var delete = connection.CreateCommand($"DELETE FROM {table} WHERE seq <= @through", transaction);
            delete.With("through", through);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new AuditArchive(first, through, records.Count, file, sha, records[^1].Hash);
    }

    /// <summary>The records of an archive file, as written by <see cref="ArchiveAsync"/>.</summary>
    public static async IAsyncEnumerable<AuditRecord> ReadArchiveAsync(string file, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(file, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                yield return System.Text.Json.JsonSerializer.Deserialize<AuditRecord>(line)
                    ?? throw new InvalidDataException($"{file}: a line that is not an audit record");
            }
        }
    }

    /// <summary>SHA-256 over the previous hash and the record's content, each field on its own line (hex, lower case).</summary>
    public static string Hash(string previousHash, long seq, DateTimeOffset recordedAt, string resourceType, string resourceId, string? patientId, string resourceJson)
    {
        var content = string.Create(CultureInfo.InvariantCulture,
            $"{previousHash}\n{seq}\n{recordedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'}\n{resourceType}\n{resourceId}\n{patientId}\n{resourceJson}");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
    }

    private static AuditRecord Read(DbDataReader reader) => new(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2),
        reader.GetString(3), reader.GetNullableString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7));
}
