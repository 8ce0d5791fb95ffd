using Hangfire.Common;
using Hangfire.Server;

namespace HealthRec.Server.Tests;

/// <summary>Fails the first run of one chunk job after it has stored its rows, as a node dying at that moment would.</summary>
internal sealed class FailChunkOnce(int chunk) : JobFilterAttribute, IServerFilter
{
    public ConcurrentQueue<int> Runs { get; } = new();

    public void OnPerforming(PerformingContext context)
    {
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.BackgroundJob.Job.Method.Name == nameof(PopulationScoringJob.ScoreChunkAsync) && context.BackgroundJob.Job.Args[1] is int k && k == chunk)
        {
            Runs.Enqueue(k);
            if (Runs.Count == 1 && context.Exception is null)
            {
                throw new InvalidOperationException($"chunk {chunk} failed on purpose after storing its rows");
            }
        }
    }
}

/// <summary>
/// Holds the first attempt of one chunk job until the test releases it, so that a database outage can begin while that
/// chunk runs; records every attempt of it and how it ended.
/// </summary>
internal sealed class HoldChunkOnce(int chunk) : JobFilterAttribute, IServerFilter
{
    private int _started;

    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Attempts { get; } = new();

    private bool IsTheChunk(Hangfire.BackgroundJob job) =>
        job.Job.Method.Name == nameof(PopulationScoringJob.ScoreChunkAsync) && job.Job.Args[1] is int k && k == chunk;

    public void OnPerforming(PerformingContext context)
    {
        if (IsTheChunk(context.BackgroundJob) && Interlocked.Increment(ref _started) == 1)
        {
            Held.SetResult();
            Release.Task.Wait(TimeSpan.FromMinutes(2));
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        if (IsTheChunk(context.BackgroundJob))
        {
            Attempts.Enqueue(context.Exception?.GetBaseException().GetType().Name ?? "completed");
        }
    }
}

/// <summary>Population scoring on Hangfire with a real PostgreSQL: several nodes, retries and repeats.</summary>
/// <summary>
/// Fails the first start job once it has done its work, as a node killed just after starting a run leaves it: Hangfire
/// runs the same job (same id, same arguments) again, as it does when it takes a killed node's job back.
/// </summary>
internal sealed class FailStartOnce : JobFilterAttribute, IServerFilter
{
    private int _failed;

    public void OnPerforming(PerformingContext context)
    {
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.BackgroundJob.Job.Method.Name == nameof(PopulationScoringJob.StartAsync) && context.Exception is null && Interlocked.Exchange(ref _failed, 1) == 0)
        {
            throw new InvalidOperationException("the node running the start job stopped (test)");
        }
    }
}
