namespace HealthRec.Server.Staff;

/// <summary>One CDS service's calls in the period: how many, how they were answered, how fast, how many cards.</summary>
public sealed record ServiceUsage(string ServiceId, string Hook, int Calls, int Answered, int Refused, int Errors, int P50Ms, int P95Ms, int P99Ms,
    double CardsPerCall);

/// <summary>A type of card (service, kind, subject): shown, accepted and overridden, with the rates.</summary>
public sealed record CardTypeUsage(string ServiceId, string Kind, string Subject, int Shown, int Accepted, int Overridden)
{
    public double AcceptanceRate => Shown == 0 ? 0 : (double)Accepted / Shown;

    public double OverrideRate => Shown == 0 ? 0 : (double)Overridden / Shown;
}

/// <summary>What the CDS services did over a period, from the stored calls and feedback (no patient data).</summary>
public sealed record CdsUsageReport(DateTimeOffset Since, int Days, int Calls, bool Capped, IReadOnlyList<ServiceUsage> Services, IReadOnlyList<CardTypeUsage> CardTypes,
    IReadOnlyList<OverrideReasonCount> OverrideReasons, IReadOnlyList<(string Day, int Calls)> PerDay)
{
    /// <summary>Feedback per card type and cohort group (sex, age band), with ratios to the group shown the card most.</summary>
    public IReadOnlyList<CdsHooks.CohortFeedbackView> ByCohort { get; init; } = [];
}

/// <summary>
/// CDS usage for the console: calls, latency percentiles (the server's time to answer, as stored with each call, in
/// whole milliseconds), cards per call per service, and acceptance and override rates per card type from the
/// feedback EHRs sent. Percentiles are nearest-rank over the period's calls (at most <see cref="MaxCalls"/>, newest).
/// </summary>
public static class CdsUsage
{
    public const int MaxCalls = 200_000;

    /// <summary>The report; without <paramref name="withFeedback"/> (the console's home) the feedback tables are left empty, unqueried.</summary>
    public static async Task<CdsUsageReport> ComputeAsync(InvocationStore calls, FeedbackStore feedback, DateTimeOffset now, int days, CancellationToken cancellationToken,
        bool withFeedback = true)
    {
        var since = now.AddDays(-days);
        var recent = await calls.ListSinceAsync(since, MaxCalls, cancellationToken);
        var services = recent.GroupBy(c => (c.ServiceId, c.Hook)).OrderBy(g => g.Key.ServiceId, StringComparer.Ordinal).Select(g =>
        {
            var durations = g.Select(c => c.DurationMs).Order().ToArray();
            var answered = g.Where(c => c.StatusCode is >= 200 and < 300).ToList();
            return new ServiceUsage(g.Key.ServiceId, g.Key.Hook, durations.Length, answered.Count, g.Count(c => c.StatusCode is >= 400 and < 500),
                g.Count(c => c.StatusCode >= 500), Percentile(durations, 0.50), Percentile(durations, 0.95), Percentile(durations, 0.99),
                answered.Count == 0 ? 0 : answered.Average(c => c.CardCount));
        }).ToList();
        var cardTypes = !withFeedback ? [] : (await feedback.SummaryAsync(cancellationToken))
            .Select(t => new CardTypeUsage(t.ServiceId, t.Kind, t.Subject, t.Shown, t.Accepted, t.Overridden)).ToList();
        // Each UTC day the period touches, the first one partly.
        var perDay = Enumerable.Range(0, days + 1).Select(d => since.UtcDateTime.Date.AddDays(d))
            .Select(day => (day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), recent.Count(c => c.ReceivedAt.UtcDateTime.Date == day))).ToList();
        return new CdsUsageReport(since, days, recent.Count, recent.Count == MaxCalls, services, cardTypes,
            withFeedback ? await feedback.OverrideReasonsAsync(cancellationToken) : [], perDay)
        {
            ByCohort = withFeedback ? CdsHooks.FeedbackCohorts.Compare(await feedback.SummaryByCohortAsync(cancellationToken)) : [],
        };
    }

    /// <summary>The nearest-rank percentile of sorted values (0 when there are none).</summary>
    public static int Percentile(int[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
