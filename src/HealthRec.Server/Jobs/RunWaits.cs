namespace HealthRec.Server.Jobs;

/// <summary>
/// Why each chunk of a run that is not stored yet waits, read from the job storage: being scored (on which node, and
/// whether that node is still alive), queued for a free worker, scheduled for a retry (after which error), failed for
/// good, or with no job at all. An operator reads it at <c>GET /api/runs/{id}</c> instead of guessing from the dashboard.
/// </summary>
internal static class RunWaits
{
    // How far into each of the storage's lists to look (a run's chunk jobs are among the most recent).
    private const int Window = 2_000;

    public static IReadOnlyList<WaitingChunk> Explain(IMonitoringApi monitoring, string runId, int chunks, IReadOnlySet<int> done, TimeSpan lease)
    {
        var found = new Dictionary<int, WaitingChunk>();
        var alive = monitoring.Servers().Where(s => s.Heartbeat is { } beat && DateTime.UtcNow - beat < TimeSpan.FromMinutes(1))
            .Select(s => s.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var (_, job) in monitoring.ProcessingJobs(0, Window))
        {
            if (ChunkOf(job.Job, runId) is { } chunk && !done.Contains(chunk))
            {
                found[chunk] = alive.Contains(job.ServerId)
                    ? new WaitingChunk(chunk, "processing", Utc(job.StartedAt), $"being scored on {job.ServerId}")
                    : new WaitingChunk(chunk, "abandoned", Utc(job.StartedAt),
                        $"taken by {job.ServerId}, which has stopped: queued again once its lease ({Minutes(lease)}) has passed since it was last renewed");
            }
        }

        foreach (var (_, job) in monitoring.ScheduledJobs(0, Window))
        {
            if (ChunkOf(job.Job, runId) is { } chunk && !done.Contains(chunk) && !found.ContainsKey(chunk))
            {
                found[chunk] = new WaitingChunk(chunk, "retrying", Utc(job.EnqueueAt), $"failed; tried again at {Utc(job.EnqueueAt):u}");
            }
        }

        foreach (var (_, job) in monitoring.FailedJobs(0, Window))
        {
            if (ChunkOf(job.Job, runId) is { } chunk && !done.Contains(chunk) && !found.ContainsKey(chunk))
            {
                found[chunk] = new WaitingChunk(chunk, "failed", Utc(job.FailedAt),
                    $"failed for good ({job.ExceptionType}: {job.ExceptionMessage}); retry it from /hangfire once the cause is fixed");
            }
        }

        foreach (var queue in monitoring.Queues())
        {
            foreach (var (_, job) in monitoring.EnqueuedJobs(queue.Name, 0, Window))
            {
                if (ChunkOf(job.Job, runId) is { } chunk && !done.Contains(chunk) && !found.ContainsKey(chunk))
                {
                    found[chunk] = new WaitingChunk(chunk, "queued", Utc(job.EnqueuedAt), "queued, waiting for a free worker");
                }
            }
        }

        return [.. Enumerable.Range(0, chunks).Where(c => !done.Contains(c)).Select(c => found.TryGetValue(c, out var why) ? why
            : new WaitingChunk(c, "no job", null, "no job for it in the storage: its start job has not queued it yet, or it was deleted (start the run again to queue the chunks not done)"))];
    }

    private static int? ChunkOf(Hangfire.Common.Job? job, string runId) =>
        job is { Method.Name: nameof(PopulationScoringJob.ScoreChunkAsync) } && job.Args.Count >= 2 && job.Args[0] as string == runId && job.Args[1] is int chunk
            ? chunk : null;

    private static DateTimeOffset? Utc(DateTime? at) => at is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;

    private static string Minutes(TimeSpan span) => span.TotalMinutes >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s");
}
