using System.Runtime.CompilerServices;

namespace HealthRec.Data;

/// <summary>One population-scoring run: where from, scored as of when, in how many chunks, by which models.</summary>
public sealed record ScoreRun(
    string RunId,
    string Source,
    DateTimeOffset IndexAt,
    int ChunkCount,
    int PatientCount,
    string ModelVersions,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt)
{
    public const string Scoring = "scoring";
    public const string Completed = "completed";
}

/// <summary>One patient's estimate for one outcome in a run, with the factors behind it and the top recommendations.</summary>
public sealed record ScoreRow(string PatientId, string Outcome, double Estimate, string? Band, string ModelVersion, string TopFactors, string Recommendations);

/// <summary>A finished chunk of a run: how many patients it held and which node scored it.</summary>
public sealed record ScoreChunk(int Chunk, int Patients, string Node, DateTimeOffset CompletedAt);

/// <summary>
/// Population-scoring results, identical on SQLite and PostgreSQL. Rows are keyed by (run, patient, outcome) and
/// written with an upsert, and a chunk is recorded once, in the same transaction as its rows: a chunk retried after a
/// failure, or a run repeated, leaves exactly the rows of one clean run.
/// </summary>
public sealed class ScoreStore(HealthRecDatabase database)
{
    private const string RunColumns = "run_id, source, index_at, chunk_count, patient_count, model_versions, status, started_at, completed_at";
    private const string RowColumns = "patient_id, outcome, estimate, band, model_version, top_factors, recommendations";
    private const int RowsPerStatement = 100;

    /// <summary>Registers the run unless it exists; returns the stored run (a repeated start gets the first one's settings).</summary>
    public async Task<ScoreRun> StartRunAsync(ScoreRun run, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var insert = connection.CreateCommand(
            $"INSERT INTO score_run ({RunColumns}) VALUES (@id, @source, @indexAt, @chunks, @patients, @models, @status, @startedAt, NULL) ON CONFLICT (run_id) DO NOTHING"))
        {
            insert.With("id", run.RunId).With("source", run.Source).With("indexAt", run.IndexAt.ToUniversalTime()).With("chunks", run.ChunkCount)
                .With("patients", run.PatientCount).With("models", run.ModelVersions).With("status", run.Status).With("startedAt", run.StartedAt.ToUniversalTime());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return (await FindRunAsync(run.RunId, cancellationToken))!;
    }

    public async Task<ScoreRun?> FindRunAsync(string runId, CancellationToken cancellationToken) =>
        (await RunsAsync("WHERE run_id = @id", cancellationToken, ("id", runId))).FirstOrDefault();

    /// <summary>The newest completed run, or null.</summary>
    public async Task<ScoreRun?> LatestCompletedAsync(CancellationToken cancellationToken) =>
        (await RunsAsync($"WHERE status = '{ScoreRun.Completed}' ORDER BY completed_at DESC, run_id DESC LIMIT 1", cancellationToken)).FirstOrDefault();

    public async Task<IReadOnlyList<ScoreRun>> RecentRunsAsync(int limit, CancellationToken cancellationToken) =>
        await RunsAsync("ORDER BY started_at DESC, run_id DESC LIMIT @limit", cancellationToken, ("limit", limit));

    /// <summary>
    /// Stores a chunk's rows and marks the chunk done, in one transaction. Rows already stored are overwritten with the
    /// same values; the chunk is recorded once (the first node to finish it). Returns how many chunks of the run are done.
    /// </summary>
    public async Task<int> RecordChunkAsync(string runId, int chunk, int patients, string node, IReadOnlyList<ScoreRow> rows, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var batch in rows.Chunk(RowsPerStatement))
        {
            var sql = new StringBuilder($"INSERT INTO score_result (run_id, {RowColumns}) VALUES ");
            await using var insert = connection.CreateCommand("", transaction);
            insert.With("run", runId);
            for (var i = 0; i < batch.Length; i++)
            {
                sql.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? ", " : "")}(@run, @p{i}, @o{i}, @e{i}, @b{i}, @v{i}, @f{i}, @r{i})");
                var row = batch[i];
                insert.With($"p{i}", row.PatientId).With($"o{i}", row.Outcome).With($"e{i}", row.Estimate).With($"b{i}", row.Band)
                    .With($"v{i}", row.ModelVersion).With($"f{i}", row.TopFactors).With($"r{i}", row.Recommendations);
            }

            sql.Append(" ON CONFLICT (run_id, patient_id, outcome) DO UPDATE SET estimate = excluded.estimate, band = excluded.band, " +
                "model_version = excluded.model_version, top_factors = excluded.top_factors, recommendations = excluded.recommendations");
            insert.CommandText = sql.ToString();
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var done = connection.CreateCommand(
            "INSERT INTO score_chunk (run_id, chunk, patients, node, completed_at) VALUES (@run, @chunk, @patients, @node, @at) ON CONFLICT (run_id, chunk) DO NOTHING", transaction))
        {
            done.With("run", runId).With("chunk", chunk).With("patients", patients).With("node", node).With("at", at.ToUniversalTime());
            await done.ExecuteNonQueryAsync(cancellationToken);
        }

        int completed;
        await using (var count = connection.CreateCommand("SELECT COUNT(*) FROM score_chunk WHERE run_id = @run", transaction).With("run", runId))
        {
            completed = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        await transaction.CommitAsync(cancellationToken);
        return completed;
    }

    /// <summary>Marks the run completed once every chunk is done; true for the one call that completed it.</summary>
    public async Task<bool> CompleteRunAsync(string runId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var update = connection.CreateCommand(
            $"UPDATE score_run SET status = '{ScoreRun.Completed}', completed_at = @at WHERE run_id = @run AND status <> '{ScoreRun.Completed}' " +
            "AND chunk_count = (SELECT COUNT(*) FROM score_chunk WHERE score_chunk.run_id = @run)");
        update.With("run", runId).With("at", at.ToUniversalTime());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public Task<IReadOnlyList<ScoreChunk>> ChunksAsync(string runId, CancellationToken cancellationToken) =>
        database.ListAsync("SELECT chunk, patients, node, completed_at FROM score_chunk WHERE run_id = @run ORDER BY chunk",
            reader => new ScoreChunk(reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)),
            cancellationToken, ("run", runId));

    /// <summary>The patients with the highest estimates for an outcome in a run, optionally of one band only.</summary>
    public async Task<IReadOnlyList<ScoreRow>> WorklistAsync(string runId, string outcome, int top, string? band, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(
            $"SELECT {RowColumns} FROM score_result WHERE run_id = @run AND outcome = @outcome{(band is null ? "" : " AND band = @band")} " +
            "ORDER BY estimate DESC, patient_id LIMIT @top")
            .With("run", runId).With("outcome", outcome).With("top", top);
        if (band is not null)
        {
            command.With("band", band);
        }

        return await command.ReadListAsync(Read, cancellationToken);
    }

    /// <summary>How many of a run's patients an outcome's estimate puts at or above each threshold, and how many it scored.</summary>
    public async Task<(int Scored, int[] AtOrAbove)> FlagCountsAsync(string runId, string outcome, IReadOnlyList<double> thresholds, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var sums = string.Join(", ", thresholds.Select((_, i) => $"SUM(CASE WHEN estimate >= @t{i} THEN 1 ELSE 0 END)"));
        await using var command = connection.CreateCommand(
            $"SELECT COUNT(*){(thresholds.Count > 0 ? ", " + sums : "")} FROM score_result WHERE run_id = @run AND outcome = @outcome")
            .With("run", runId).With("outcome", outcome);
        for (var i = 0; i < thresholds.Count; i++)
        {
            command.With($"t{i}", thresholds[i]);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var scored = Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture);
        var counts = new int[thresholds.Count];
        for (var i = 0; i < thresholds.Count; i++)
        {
            counts[i] = reader.IsDBNull(i + 1) ? 0 : Convert.ToInt32(reader.GetValue(i + 1), CultureInfo.InvariantCulture);
        }

        return (scored, counts);
    }

    /// <summary>One patient's rows of a run, one per outcome.</summary>
    public Task<IReadOnlyList<ScoreRow>> PatientAsync(string runId, string patientId, CancellationToken cancellationToken) =>
        database.ListAsync(
            $"SELECT {RowColumns} FROM score_result WHERE run_id = @run AND patient_id = @patient ORDER BY outcome",
            Read,
            cancellationToken, ("run", runId), ("patient", patientId));

    /// <summary>Every row of a run, by patient and outcome, streamed.</summary>
    public async IAsyncEnumerable<ScoreRow> RowsAsync(string runId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand($"SELECT {RowColumns} FROM score_result WHERE run_id = @run ORDER BY patient_id, outcome")
            .With("run", runId);
        await foreach (var row in command.ReadEachAsync(Read, cancellationToken))
        {
            yield return row;
        }
    }

    private async Task<List<ScoreRun>> RunsAsync(string where, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand($"SELECT {RunColumns} FROM score_run {where}");
        foreach (var (name, value) in parameters)
        {
            command.With(name, value);
        }

        return await command.ReadListAsync(
            reader => new ScoreRun(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3), reader.GetInt32(4),
                reader.GetString(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8)),
            cancellationToken);
    }

    private static ScoreRow Read(DbDataReader reader) => new(reader.GetString(0), reader.GetString(1), reader.GetDouble(2), reader.GetNullableString(3),
        reader.GetString(4), reader.GetString(5), reader.GetString(6));
}
