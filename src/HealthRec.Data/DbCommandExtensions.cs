namespace HealthRec.Data;

internal static class DbCommandExtensions
{
    public static DbCommand CreateCommand(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static DbCommand With(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>Every row one query returns, on a connection of its own, with <paramref name="parameters"/> bound by name.</summary>
    public static async Task<IReadOnlyList<T>> ListAsync<T>(this HealthRecDatabase database, string sql, Func<DbDataReader, T> read,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }

        return await command.ReadListAsync(read, cancellationToken);
    }

    /// <summary>Every row the command returns, each made by <paramref name="read"/>.</summary>
    public static async Task<List<T>> ReadListAsync<T>(this DbCommand command, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Every row the command returns, streamed.</summary>
    public static async IAsyncEnumerable<T> ReadEachAsync<T>(this DbCommand command, Func<DbDataReader, T> read,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return read(reader);
        }
    }

    /// <summary>A COUNT or SUM column as an int: PostgreSQL gives a bigint or numeric, SQLite an integer.</summary>
    public static int GetCount(this DbDataReader reader, int ordinal) => Convert.ToInt32(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    public static string? GetNullableString(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
