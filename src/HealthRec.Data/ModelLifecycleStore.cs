namespace HealthRec.Data;

/// <summary>A promotion-gate decision as stored: the checks are the gate's JSON, every number it compared.</summary>
public sealed record StoredDecision(string Outcome, string Challenger, string? Champion, bool Promoted, int TestExamples, string Summary,
    string ChecksJson, DateTimeOffset DecidedAt, string Node);

/// <summary>One evaluation of a champion: its metrics on the newest labelled data and the drift of its features (JSON).</summary>
public sealed record StoredEvaluation(string EvaluationId, string Outcome, string Version, DateTimeOffset EvaluatedAt, string Source, int Examples,
    string MetricsJson, string DriftJson, string DriftFlag);

/// <summary>
/// The models' history in the database, identical on SQLite and PostgreSQL: the gate's decisions (one per challenger;
/// a repeat writes the same row) and the evaluation job's metrics and drift (one per evaluation and outcome).
/// </summary>
public sealed class ModelLifecycleStore(HealthRecDatabase database)
{
    private const string DecisionColumns = "outcome, challenger, champion, promoted, test_examples, summary, checks, decided_at, node";
    private const string EvaluationColumns = "evaluation_id, outcome, version, evaluated_at, source, examples, metrics, drift, drift_flag";

    public async Task RecordDecisionAsync(StoredDecision d, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var insert = connection.CreateCommand(
            $"INSERT INTO model_decision ({DecisionColumns}) VALUES (@outcome, @challenger, @champion, @promoted, @n, @summary, @checks, @at, @node) " +
            "ON CONFLICT (outcome, challenger) DO NOTHING");
        insert.With("outcome", d.Outcome).With("challenger", d.Challenger).With("champion", d.Champion).With("promoted", d.Promoted)
            .With("n", d.TestExamples).With("summary", d.Summary).With("checks", d.ChecksJson).With("at", d.DecidedAt.ToUniversalTime()).With("node", d.Node);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An outcome's decisions (every outcome's when null), newest first.</summary>
    public Task<IReadOnlyList<StoredDecision>> DecisionsAsync(string? outcome, int limit, CancellationToken cancellationToken) =>
        NewestAsync($"SELECT {DecisionColumns} FROM model_decision", "decided_at DESC, challenger DESC", outcome, limit, r => new StoredDecision(
            r.GetString(0), r.GetString(1), r.GetNullableString(2), r.GetBoolean(3), r.GetInt32(4), r.GetString(5), r.GetString(6),
            r.GetFieldValue<DateTimeOffset>(7), r.GetString(8)), cancellationToken);

    public async Task RecordEvaluationAsync(StoredEvaluation e, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var insert = connection.CreateCommand(
            $"INSERT INTO model_evaluation ({EvaluationColumns}) VALUES (@id, @outcome, @version, @at, @source, @n, @metrics, @drift, @flag) " +
            "ON CONFLICT (evaluation_id, outcome) DO UPDATE SET version = excluded.version, evaluated_at = excluded.evaluated_at, source = excluded.source, " +
            "examples = excluded.examples, metrics = excluded.metrics, drift = excluded.drift, drift_flag = excluded.drift_flag");
        insert.With("id", e.EvaluationId).With("outcome", e.Outcome).With("version", e.Version).With("at", e.EvaluatedAt.ToUniversalTime())
            .With("source", e.Source).With("n", e.Examples).With("metrics", e.MetricsJson).With("drift", e.DriftJson).With("flag", e.DriftFlag);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>An outcome's evaluations (every outcome's when null), newest first.</summary>
    public Task<IReadOnlyList<StoredEvaluation>> EvaluationsAsync(string? outcome, int limit, CancellationToken cancellationToken) =>
        NewestAsync($"SELECT {EvaluationColumns} FROM model_evaluation", "evaluated_at DESC, evaluation_id DESC", outcome, limit, Read, cancellationToken);

    private async Task<IReadOnlyList<T>> NewestAsync<T>(string select, string order, string? outcome, int limit, Func<DbDataReader, T> read,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand($"{select} {(outcome is null ? "" : "WHERE outcome = @outcome ")}ORDER BY {order} LIMIT @limit")
            .With("limit", limit);
        if (outcome is not null)
        {
            command.With("outcome", outcome);
        }

        return await command.ReadListAsync(read, cancellationToken);
    }

    private static StoredEvaluation Read(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetFieldValue<DateTimeOffset>(3),
        r.GetString(4), r.GetInt32(5), r.GetString(6), r.GetString(7), r.GetString(8));
}
