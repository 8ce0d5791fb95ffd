using System.Data.Common;

namespace HealthRec.Data;

/// <summary>One CDS Hooks service call as stored: ids and counts, never resource bodies or tokens.</summary>
public sealed record CdsInvocation(
    string ServiceId,
    string HookInstance,
    string Hook,
    string? PatientId,
    DateTimeOffset ReceivedAt,
    int DurationMs,
    int StatusCode,
    int CardCount);

/// <summary>Stores and reads CDS Hooks invocations, identically on SQLite and PostgreSQL.</summary>
public sealed class InvocationStore(HealthRecDatabase database)
{
    private const string Columns = "service_id, hook_instance, hook, patient_id, received_at, duration_ms, status_code, card_count";

    /// <summary>Records a call; recording the same (service, hookInstance) again keeps the first record.</summary>
    public async Task<bool> RecordAsync(CdsInvocation invocation, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(
            $"INSERT INTO cds_invocation ({Columns}) VALUES " +
            "(@serviceId, @hookInstance, @hook, @patientId, @receivedAt, @durationMs, @statusCode, @cardCount) " +
            "ON CONFLICT (service_id, hook_instance) DO NOTHING");
        command
            .With("serviceId", invocation.ServiceId)
            .With("hookInstance", invocation.HookInstance)
            .With("hook", invocation.Hook)
            .With("patientId", invocation.PatientId)
            // Both engines keep microseconds at most; UTC so that PostgreSQL's timestamptz accepts it.
            .With("receivedAt", invocation.ReceivedAt.ToUniversalTime())
            .With("durationMs", invocation.DurationMs)
            .With("statusCode", invocation.StatusCode)
            .With("cardCount", invocation.CardCount);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<CdsInvocation?> FindAsync(string serviceId, string hookInstance, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(
            $"SELECT {Columns} FROM cds_invocation WHERE service_id = @serviceId AND hook_instance = @hookInstance")
            .With("serviceId", serviceId)
            .With("hookInstance", hookInstance);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>The most recent calls, newest first.</summary>
    public async Task<IReadOnlyList<CdsInvocation>> ListRecentAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(
            $"SELECT {Columns} FROM cds_invocation ORDER BY received_at DESC, service_id, hook_instance LIMIT @limit")
            .With("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<CdsInvocation>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(Read(reader));
        }

        return result;
    }

    private static CdsInvocation Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetNullableString(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        reader.GetInt32(7));
}
