namespace HealthRec.Data;

/// <summary>One feedback item as the CDS client sent it (CDS Hooks 2.0 §Feedback), with when and from whom it arrived.</summary>
public sealed record CdsFeedback(
    string CardUuid,
    string ServiceId,
    string Outcome,
    IReadOnlyList<string> AcceptedSuggestions,
    string? OverrideSystem,
    string? OverrideCode,
    string? UserComment,
    DateTimeOffset OutcomeAt,
    DateTimeOffset ReceivedAt,
    string? ClientIssuer)
{
    /// <summary>What makes two items the same feedback: a repeat of an item is stored once.</summary>
    public string Key
    {
        get
        {
            var text = string.Join('\n', CardUuid, Outcome, OutcomeAt.UtcTicks.ToString(CultureInfo.InvariantCulture),
                string.Join(' ', AcceptedSuggestions.Order(StringComparer.Ordinal)), OverrideSystem ?? "", OverrideCode ?? "", UserComment ?? "");
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        }
    }
}

/// <summary>A stored card as feedback validation needs it: which service returned it and its suggestions' uuids.</summary>
public sealed record StoredCard(string CardUuid, string ServiceId, string Kind, string Subject, IReadOnlySet<string> Suggestions);

/// <summary>
/// How clinicians answered one type of card: cards shown, accepted and overridden (a card answered twice counts once
/// there, so the rates are per card shown), and the feedback items behind them (every answer stored, so two overrides of
/// one card count two).
/// </summary>
public sealed record CardTypeFeedback(string ServiceId, string Kind, string Subject, int Shown, int Accepted, int Overridden,
    int AcceptedItems = 0, int OverriddenItems = 0)
{
    public double AcceptanceRate => Shown == 0 ? 0 : (double)Accepted / Shown;

    public double OverrideRate => Shown == 0 ? 0 : (double)Overridden / Shown;
}

/// <summary>How often an override reason was given, by card kind.</summary>
public sealed record OverrideReasonCount(string Kind, string? System, string? Code, int Count);

/// <summary>Feedback on one type of card for one cohort group (dimension <c>sex</c> or <c>age</c>).</summary>
public sealed record CohortFeedback(string ServiceId, string Kind, string Subject, string Dimension, string Group, int Shown, int Accepted, int Overridden);

/// <summary>A clinician's answer to one suggested intervention, as the recommender learns from it.</summary>
public sealed record InterventionFeedback(string PatientId, DateTimeOffset At, string InterventionId, bool Accepted);

/// <summary>Stores CDS Hooks feedback linked to the stored cards, and summarizes it; identical on SQLite and PostgreSQL.</summary>
public sealed class FeedbackStore(HealthRecDatabase database)
{
    /// <summary>The stored cards among <paramref name="cardUuids"/>, with their suggestions; unknown uuids are absent.</summary>
    public async Task<IReadOnlyDictionary<string, StoredCard>> FindCardsAsync(IReadOnlyCollection<string> cardUuids, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (StoredCard Card, HashSet<string> Suggestions)>(StringComparer.Ordinal);
        if (cardUuids.Count == 0)
        {
            return new Dictionary<string, StoredCard>(StringComparer.Ordinal);
        }

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var command = connection.CreateCommand("");
        var names = new List<string>();
        foreach (var (uuid, i) in cardUuids.Distinct(StringComparer.Ordinal).Select((u, i) => (u, i)))
        {
            names.Add($"@c{i}");
            command.With($"c{i}", uuid);
        }

        command.CommandText = "SELECT c.card_uuid, c.service_id, c.kind, c.subject, s.suggestion_uuid FROM cds_card c " +
            $"LEFT JOIN cds_suggestion s ON s.card_uuid = c.card_uuid WHERE c.card_uuid IN ({string.Join(", ", names)})";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var uuid = reader.GetString(0);
            if (!found.TryGetValue(uuid, out var entry))
            {
                var suggestions = new HashSet<string>(StringComparer.Ordinal);
                entry = (new StoredCard(uuid, reader.GetString(1), reader.GetString(2), reader.GetString(3), suggestions), suggestions);
                found[uuid] = entry;
            }

            if (!reader.IsDBNull(4))
            {
                entry.Suggestions.Add(reader.GetString(4));
            }
        }

        return found.ToDictionary(kv => kv.Key, kv => kv.Value.Card, StringComparer.Ordinal);
    }

    /// <summary>Stores the items in one transaction; returns how many were new (a repeated item is kept once).</summary>
    public async Task<int> RecordAsync(IReadOnlyList<CdsFeedback> items, CancellationToken cancellationToken)
    {
        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = 0;
        foreach (var item in items)
        {
            var key = item.Key;
            await using (var insert = connection.CreateCommand(
                "INSERT INTO cds_feedback (feedback_key, card_uuid, service_id, outcome, override_system, override_code, user_comment, outcome_at, received_at, client_issuer) " +
                "VALUES (@key, @card, @service, @outcome, @system, @code, @comment, @outcomeAt, @receivedAt, @issuer) ON CONFLICT (feedback_key) DO NOTHING", transaction))
            {
                insert.With("key", key).With("card", item.CardUuid).With("service", item.ServiceId).With("outcome", item.Outcome)
                    .With("system", item.OverrideSystem).With("code", item.OverrideCode).With("comment", item.UserComment)
                    .With("outcomeAt", item.OutcomeAt.ToUniversalTime()).With("receivedAt", item.ReceivedAt.ToUniversalTime()).With("issuer", item.ClientIssuer);
                if (await insert.ExecuteNonQueryAsync(cancellationToken) != 1)
                {
                    continue;
                }
            }

            stored++;
            foreach (var suggestion in item.AcceptedSuggestions.Distinct(StringComparer.Ordinal))
            {
                await using var link = connection.CreateCommand(
                    "INSERT INTO cds_feedback_suggestion (feedback_key, suggestion_uuid) VALUES (@key, @suggestion)", transaction);
                link.With("key", key).With("suggestion", suggestion);
                await link.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    /// <summary>Of the cards a query groups (<c>c</c>), how many were accepted, and how many overridden, at least once.</summary>
    private const string CardsAnswered =
        "SUM(CASE WHEN EXISTS (SELECT 1 FROM cds_feedback f WHERE f.card_uuid = c.card_uuid AND f.outcome = 'accepted') THEN 1 ELSE 0 END), " +
        "SUM(CASE WHEN EXISTS (SELECT 1 FROM cds_feedback f WHERE f.card_uuid = c.card_uuid AND f.outcome = 'overridden') THEN 1 ELSE 0 END)";

    /// <summary>Per type of card (service, kind, subject): how many were shown, and how many were accepted or overridden.</summary>
    public Task<IReadOnlyList<CardTypeFeedback>> SummaryAsync(CancellationToken cancellationToken) =>
        database.ListAsync(
            "SELECT c.service_id, c.kind, c.subject, COUNT(*), " +
            CardsAnswered + ", " +
            "SUM((SELECT COUNT(*) FROM cds_feedback f WHERE f.card_uuid = c.card_uuid AND f.outcome = 'accepted')), " +
            "SUM((SELECT COUNT(*) FROM cds_feedback f WHERE f.card_uuid = c.card_uuid AND f.outcome = 'overridden')) " +
            "FROM cds_card c GROUP BY c.service_id, c.kind, c.subject ORDER BY c.service_id, c.kind, c.subject",
            reader => new CardTypeFeedback(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetCount(3), reader.GetCount(4), reader.GetCount(5), reader.GetCount(6), reader.GetCount(7)),
            cancellationToken);

    /// <summary>
    /// Per type of card and cohort group (the patient's sex, age band, or stated race or ethnicity, at the call): how many were shown, accepted
    /// and overridden. Calls without a cohort (made before it was recorded, or without demographics) are left out.
    /// </summary>
    public async Task<IReadOnlyList<CohortFeedback>> SummaryByCohortAsync(CancellationToken cancellationToken)
    {
        var rows = new List<CohortFeedback>();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        foreach (var (dimension, column) in new[] { ("sex", "cohort_sex"), ("age", "cohort_age"), ("race", "cohort_race"), ("ethnicity", "cohort_ethnicity") })
        {
            await using var command = connection.CreateCommand(
                $"SELECT c.service_id, c.kind, c.subject, i.{column}, COUNT(*), " +
                CardsAnswered + " " +
                $"FROM cds_card c JOIN cds_invocation i ON i.service_id = c.service_id AND i.hook_instance = c.hook_instance WHERE i.{column} IS NOT NULL " +
                $"GROUP BY c.service_id, c.kind, c.subject, i.{column} ORDER BY c.service_id, c.kind, c.subject, i.{column}");
            rows.AddRange(await command.ReadListAsync(
                reader => new CohortFeedback(reader.GetString(0), reader.GetString(1), reader.GetString(2), dimension, reader.GetString(3),
                    reader.GetCount(4), reader.GetCount(5), reader.GetCount(6)),
                cancellationToken));
        }

        return rows;
    }

    /// <summary>Override reasons given, by card kind, most frequent first.</summary>
    public Task<IReadOnlyList<OverrideReasonCount>> OverrideReasonsAsync(CancellationToken cancellationToken) =>
        database.ListAsync(
            "SELECT c.kind, f.override_system, f.override_code, COUNT(*) FROM cds_feedback f JOIN cds_card c ON c.card_uuid = f.card_uuid " +
            "WHERE f.outcome = 'overridden' GROUP BY c.kind, f.override_system, f.override_code ORDER BY COUNT(*) DESC, c.kind, f.override_code",
            reader => new OverrideReasonCount(reader.GetString(0), reader.GetNullableString(1), reader.GetNullableString(2), reader.GetCount(3)),
            cancellationToken);

    /// <summary>
    /// What the recommender learns from: each suggested intervention on a recommendation card the clinician answered —
    /// accepted when its suggestion was accepted, not accepted when the card was overridden — with the patient and the
    /// time of the call. A suggestion both accepted and (on a later look) overridden counts once each way.
    /// </summary>
    public Task<IReadOnlyList<InterventionFeedback>> InterventionFeedbackAsync(CancellationToken cancellationToken) =>
        database.ListAsync(
            "SELECT DISTINCT i.patient_id, i.received_at, s.intervention_id, 1 FROM cds_feedback_suggestion a " +
            "JOIN cds_suggestion s ON s.suggestion_uuid = a.suggestion_uuid JOIN cds_card c ON c.card_uuid = s.card_uuid " +
            "JOIN cds_invocation i ON i.service_id = c.service_id AND i.hook_instance = c.hook_instance " +
            "WHERE c.kind = 'recommendation' AND s.intervention_id IS NOT NULL AND i.patient_id IS NOT NULL " +
            "UNION " +
            "SELECT DISTINCT i.patient_id, i.received_at, s.intervention_id, 0 FROM cds_feedback f " +
            "JOIN cds_card c ON c.card_uuid = f.card_uuid JOIN cds_suggestion s ON s.card_uuid = c.card_uuid " +
            "JOIN cds_invocation i ON i.service_id = c.service_id AND i.hook_instance = c.hook_instance " +
            "WHERE f.outcome = 'overridden' AND c.kind = 'recommendation' AND s.intervention_id IS NOT NULL AND i.patient_id IS NOT NULL " +
            "ORDER BY 1, 2, 3, 4",
            reader => new InterventionFeedback(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetCount(3) == 1),
            cancellationToken);
}

/// <summary>
/// The JWT ids (<c>jti</c>) already accepted from each issuer, kept until the token would have expired, in the shared
/// database so that a token replayed to another node is refused too.
/// </summary>
public sealed class TokenReplayStore(HealthRecDatabase database)
{
    /// <summary>True when this (issuer, jti) is new and is now remembered until <paramref name="expiresAt"/>; false for a replay.</summary>
    public async Task<bool> TryRememberAsync(string issuer, string jti, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // An expired entry no longer protects anything; a token with that jti is then refused for being expired.
        await using (var purge = connection.CreateCommand("DELETE FROM cds_jti WHERE issuer = @issuer AND jti = @jti AND expires_at < @now"))
        {
            purge.With("issuer", issuer).With("jti", jti).With("now", now.ToUniversalTime());
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insert = connection.CreateCommand(
            "INSERT INTO cds_jti (issuer, jti, expires_at) VALUES (@issuer, @jti, @expiresAt) ON CONFLICT (issuer, jti) DO NOTHING");
        insert.With("issuer", issuer).With("jti", jti).With("expiresAt", expiresAt.ToUniversalTime());
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Forgets every id whose token has expired.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var purge = connection.CreateCommand("DELETE FROM cds_jti WHERE expires_at < @now").With("now", now.ToUniversalTime());
        return await purge.ExecuteNonQueryAsync(cancellationToken);
    }
}
