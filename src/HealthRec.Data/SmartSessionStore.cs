namespace HealthRec.Data;

/// <summary>
/// The SMART app's sessions and the Data Protection key ring, on either engine, so that every node behind a load
/// balancer reads the sessions and keys the others wrote. Session data arrives encrypted; this store never sees a token.
/// </summary>
public sealed class SmartSessionStore(HealthRecDatabase database)
{
    public async Task SaveAsync(string sessionId, byte[] data, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var upsert = connection.CreateCommand(
            "INSERT INTO smart_session (session_id, data, expires_at) VALUES (@id, @data, @expires) " +
            "ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at");
        upsert.With("id", sessionId).With("data", data).With("expires", expiresAt.ToUniversalTime());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The session's data, or null when there is none or it has expired.</summary>
    public async Task<byte[]?> FindAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var select = connection.CreateCommand("SELECT data FROM smart_session WHERE session_id = @id AND expires_at > @now")
            .With("id", sessionId).With("now", now.ToUniversalTime());
        return await select.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public async Task RemoveAsync(string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var delete = connection.CreateCommand("DELETE FROM smart_session WHERE session_id = @id").With("id", sessionId);
        await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Removes the sessions that have ended; the number removed.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var delete = connection.CreateCommand("DELETE FROM smart_session WHERE expires_at <= @now").With("now", now.ToUniversalTime());
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every key of the Data Protection key ring, as the XML Data Protection wrote it.</summary>
    public IReadOnlyList<string> Keys()
    {
        using var connection = database.OpenConnection();
        using var select = connection.CreateCommand("SELECT xml FROM data_protection_key ORDER BY friendly_name");
        using var reader = select.ExecuteReader();
        var keys = new List<string>();
        while (reader.Read())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    /// <summary>Adds a key (Data Protection never changes one it wrote; a repeated name is left as it is).</summary>
    public void AddKey(string friendlyName, string xml)
    {
        using var connection = database.OpenConnection();
        using var insert = connection.CreateCommand("INSERT INTO data_protection_key (friendly_name, xml) VALUES (@name, @xml) ON CONFLICT (friendly_name) DO NOTHING")
            .With("name", friendlyName).With("xml", xml);
        insert.ExecuteNonQuery();
    }
}
