namespace HealthRec.Benchmarks;

/// <summary>The server's own composition (Program.BuildServer) on this repository, with a SQLite database of its own: what the benchmarks run.</summary>
internal static class BenchmarkServer
{
    public static WebApplication Build() => Program.BuildServer([$"--contentRoot={Repository.Root}",
        $"--Storage:SqlitePath={Path.Combine(Path.GetTempPath(), $"healthrec-bench-{Guid.NewGuid():N}.db")}", "--Logging:LogLevel:Default=Warning"]);
}
