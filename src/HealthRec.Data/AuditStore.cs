using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HealthRec.Data;

/// <summary>One record to append: a FHIR resource (an AuditEvent or a GuidanceResponse) as JSON, and what it is about.</summary>
public sealed record AuditEntry(string ResourceType, string ResourceId, string? PatientId, string ResourceJson);

/// <summary>A record of the trail, with its place in the chain.</summary>
public sealed record AuditRecord(long Seq, DateTimeOffset RecordedAt, string ResourceType, string ResourceId, string? PatientId, string ResourceJson,
    string PreviousHash, string Hash);

/// <summary>What a walk of the chain found: how many records, and the first one where the chain breaks, with why.</summary>
public sealed record AuditVerification(long Records, long? BrokenAt, string? Problem)
{
    public bool Intact => BrokenAt is null;
}

/// <summary>
/// The tamper-evident audit trail on either engine. Records are only ever appended (the database's triggers refuse
/// UPDATE and DELETE); each stores SHA-256 over the previous record's hash and its own content, so a record changed,
/// removed or moved breaks the chain at that place, which <see cref="VerifyAsync"/> reports. Appends are serialized
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
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // On SQLite a transaction that is not deferred (Microsoft.Data.Sqlite's default) holds the write lock from its start,
        // so no other writer reads the same end of the chain; on PostgreSQL an advisory lock does the same.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (database.Engine == DatabaseEngine.Postgres)
        {
            await using var @lock = connection.CreateCommand($"SELECT pg_advisory_xact_lock({AppendLock})", transaction);
            await @lock.ExecuteNonQueryAsync(cancellationToken);
        }

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
        var appended = new List<AuditRecord>();
        foreach (var entry in entries)
        {
            seq++;
            var hash = Hash(previous, seq, at, entry.ResourceType, entry.ResourceId, entry.PatientId, entry.ResourceJson);
            await using var insert = connection.CreateCommand(
                $"INSERT INTO audit_record ({Columns}) VALUES (@seq, @at, @type, @id, @patient, @resource, @prev, @hash)", transaction);
            insert.With("seq", seq).With("at", at).With("type", entry.ResourceType).With("id", entry.ResourceId).With("patient", entry.PatientId)
                .With("resource", entry.ResourceJson).With("prev", previous).With("hash", hash);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            appended.Add(new AuditRecord(seq, at, entry.ResourceType, entry.ResourceId, entry.PatientId, entry.ResourceJson, previous, hash));
            previous = hash;
        }

        await transaction.CommitAsync(cancellationToken);
        return appended;
    }

    /// <summary>Every record in chain order, read as it is stored (nothing is checked here).</summary>
    public async IAsyncEnumerable<AuditRecord> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand($"SELECT {Columns} FROM audit_record ORDER BY seq");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Read(reader);
        }
    }

    /// <summary>Walks the chain from the first record and reports the first place where it breaks.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken)
    {
        long count = 0;
        long expected = 1;
        var previous = Genesis;
        await foreach (var record in ReadAsync(cancellationToken))
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
