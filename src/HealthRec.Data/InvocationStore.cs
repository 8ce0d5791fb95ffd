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
    int CardCount)
{
    /// <summary>The <c>iss</c> of the client's JWT, when the call carried one.</summary>
    public string? ClientIssuer { get; init; }

    /// <summary>The <c>jti</c> of the client's JWT: which token, never the token.</summary>
    public string? ClientJti { get; init; }

    /// <summary>The models that answered, e.g. <c>ascvd-10y v2, recommender v1</c>.</summary>
    public string? ModelVersions { get; init; }

    /// <summary>Where the patient's data came from: <c>prefetch</c>, <c>fhirServer</c>, or both with the keys fetched.</summary>
    public string? DataSource { get; init; }

    /// <summary>The patient's sex at the call (<c>female</c>, <c>male</c>), for feedback by cohort; null when unknown.</summary>
    public string? CohortSex { get; init; }

    /// <summary>The patient's age band at the call (<c>&lt;45</c>, <c>45-64</c>, <c>&gt;=65</c>), for feedback by cohort; null when unknown.</summary>
    public string? CohortAge { get; init; }

    /// <summary>The patient's race (OMB category) as the record states it, for feedback by cohort; null when not stated.</summary>
    public string? CohortRace { get; init; }

    /// <summary>The patient's ethnicity (OMB category) as the record states it; null when not stated.</summary>
    public string? CohortEthnicity { get; init; }
}

/// <summary>A card as returned: its uuid (what feedback names), what it is about and what it said.</summary>
public sealed record CdsCardRecord(string CardUuid, string Kind, string Subject, string Indicator, string Summary, IReadOnlyList<CdsSuggestionRecord> Suggestions);

/// <summary>A suggestion on a card and the catalog item it proposes (null for a suggestion that only removes a draft order).</summary>
public sealed record CdsSuggestionRecord(string SuggestionUuid, string? InterventionId, string Label);

/// <summary>Stores and reads CDS Hooks invocations and the cards they returned, identically on SQLite and PostgreSQL.</summary>
public sealed class InvocationStore(HealthRecDatabase database)
{
    private const string Columns = "service_id, hook_instance, hook, patient_id, received_at, duration_ms, status_code, card_count, " +
        "client_issuer, client_jti, model_versions, data_source, cohort_sex, cohort_age, cohort_race, cohort_ethnicity";

    /// <summary>Records a call and its cards in one transaction; recording the same (service, hookInstance) again keeps the first record.</summary>
    public async Task<bool> RecordAsync(CdsInvocation invocation, CancellationToken cancellationToken) =>
        await RecordAsync(invocation, [], cancellationToken);

    public async Task<bool> RecordAsync(CdsInvocation invocation, IReadOnlyList<CdsCardRecord> cards, CancellationToken cancellationToken) =>
        (await RecordAsync([(invocation, cards)], cancellationToken))[0];

    /// <summary>
    /// Records several calls with their cards in one transaction (a group commit); for each, whether it was new. A call
    /// whose (service, hookInstance) is already stored keeps its first record and cards.
    /// </summary>
    public async Task<bool[]> RecordAsync(IReadOnlyList<(CdsInvocation Invocation, IReadOnlyList<CdsCardRecord> Cards)> calls, CancellationToken cancellationToken)
    {
        var stored = new bool[calls.Count];
        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < calls.Count; i++)
        {
            stored[i] = await InsertAsync(connection, transaction, calls[i].Invocation, calls[i].Cards, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    private static async Task<bool> InsertAsync(DbConnection connection, DbTransaction transaction, CdsInvocation invocation, IReadOnlyList<CdsCardRecord> cards,
        CancellationToken cancellationToken)
    {
        await using (var command = connection.CreateCommand(
            $"INSERT INTO cds_invocation ({Columns}) VALUES " +
            "(@serviceId, @hookInstance, @hook, @patientId, @receivedAt, @durationMs, @statusCode, @cardCount, @issuer, @jti, @models, @source, @sex, @age, @race, @ethnicity) " +
            "ON CONFLICT (service_id, hook_instance) DO NOTHING", transaction))
        {
            command
                .With("serviceId", invocation.ServiceId)
                .With("hookInstance", invocation.HookInstance)
                .With("hook", invocation.Hook)
                .With("patientId", invocation.PatientId)
                // Both engines keep microseconds at most; UTC so that PostgreSQL's timestamptz accepts it.
                .With("receivedAt", invocation.ReceivedAt.ToUniversalTime())
                .With("durationMs", invocation.DurationMs)
                .With("statusCode", invocation.StatusCode)
                .With("cardCount", invocation.CardCount)
                .With("issuer", invocation.ClientIssuer)
                .With("jti", invocation.ClientJti)
                .With("models", invocation.ModelVersions)
                .With("source", invocation.DataSource)
                .With("sex", invocation.CohortSex)
                .With("age", invocation.CohortAge)
                .With("race", invocation.CohortRace)
                .With("ethnicity", invocation.CohortEthnicity);
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                // A repeated hookInstance: the first call's record and cards stand.
                return false;
            }
        }

        for (var position = 0; position < cards.Count; position++)
        {
            var card = cards[position];
            await using (var insert = connection.CreateCommand(
                "INSERT INTO cds_card (card_uuid, service_id, hook_instance, position, kind, subject, indicator, summary, created_at) " +
                "VALUES (@card, @serviceId, @hookInstance, @position, @kind, @subject, @indicator, @summary, @createdAt)", transaction))
            {
                insert.With("card", card.CardUuid).With("serviceId", invocation.ServiceId).With("hookInstance", invocation.HookInstance).With("position", position)
                    .With("kind", card.Kind).With("subject", card.Subject).With("indicator", card.Indicator).With("summary", card.Summary)
                    .With("createdAt", invocation.ReceivedAt.ToUniversalTime());
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            for (var order = 0; order < card.Suggestions.Count; order++)
            {
                var suggestion = card.Suggestions[order];
                await using var insert = connection.CreateCommand(
                    "INSERT INTO cds_suggestion (suggestion_uuid, card_uuid, position, intervention_id, label) VALUES (@suggestion, @card, @position, @intervention, @label)",
                    transaction);
                insert.With("suggestion", suggestion.SuggestionUuid).With("card", card.CardUuid).With("position", order).With("intervention", suggestion.InterventionId)
                    .With("label", suggestion.Label);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        return true;
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

    /// <summary>The cards a call returned, with their suggestions, in the order they were returned.</summary>
    public async Task<IReadOnlyList<CdsCardRecord>> CardsAsync(string serviceId, string hookInstance, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand(
            "SELECT c.card_uuid, c.kind, c.subject, c.indicator, c.summary, s.suggestion_uuid, s.intervention_id, s.label " +
            "FROM cds_card c LEFT JOIN cds_suggestion s ON s.card_uuid = c.card_uuid " +
            "WHERE c.service_id = @serviceId AND c.hook_instance = @hookInstance ORDER BY c.position, s.position")
            .With("serviceId", serviceId)
            .With("hookInstance", hookInstance);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var cards = new List<(CdsCardRecord Card, List<CdsSuggestionRecord> Suggestions)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var uuid = reader.GetString(0);
            if (cards.Count == 0 || !string.Equals(cards[^1].Card.CardUuid, uuid, StringComparison.Ordinal))
            {
                var suggestions = new List<CdsSuggestionRecord>();
                cards.Add((new CdsCardRecord(uuid, reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), suggestions), suggestions));
            }

            if (!reader.IsDBNull(5))
            {
                cards[^1].Suggestions.Add(new CdsSuggestionRecord(reader.GetString(5), reader.GetNullableString(6), reader.GetString(7)));
            }
        }

        return [.. cards.Select(c => c.Card)];
    }

    /// <summary>The calls received since an instant, newest first, at most <paramref name="limit"/> (what usage figures are computed from).</summary>
    public Task<IReadOnlyList<CdsInvocation>> ListSinceAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
        database.ListAsync(
            $"SELECT {Columns} FROM cds_invocation WHERE received_at >= @since ORDER BY received_at DESC, service_id, hook_instance LIMIT @limit",
            Read,
            cancellationToken, ("since", since.ToUniversalTime()), ("limit", limit));

    /// <summary>The most recent calls, newest first.</summary>
    public Task<IReadOnlyList<CdsInvocation>> ListRecentAsync(int limit, CancellationToken cancellationToken) =>
        database.ListAsync(
            $"SELECT {Columns} FROM cds_invocation ORDER BY received_at DESC, service_id, hook_instance LIMIT @limit",
            Read,
            cancellationToken, ("limit", limit));

    private static CdsInvocation Read(DbDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetNullableString(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetInt32(5),
        reader.GetInt32(6),
        reader.GetInt32(7))
    {
        ClientIssuer = reader.GetNullableString(8),
        ClientJti = reader.GetNullableString(9),
        ModelVersions = reader.GetNullableString(10),
        DataSource = reader.GetNullableString(11),
        CohortSex = reader.GetNullableString(12),
        CohortAge = reader.GetNullableString(13),
        CohortRace = reader.GetNullableString(14),
        CohortEthnicity = reader.GetNullableString(15),
    };
}
