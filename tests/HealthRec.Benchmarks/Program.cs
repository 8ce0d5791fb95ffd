using BenchmarkDotNet.Running;

namespace HealthRec.Benchmarks;

// An explicit entry point: top-level statements would declare a global Program beside the server's.
public static class BenchmarkEntry
{
    public static void Main(string[] args)
    {
        if (args is ["stages"])
        {
            StageTimer.Run();
            return;
        }

        if (args is ["partition", var source, var chunks])
        {
            PartitionTimer.Run(source, int.Parse(chunks, System.Globalization.CultureInfo.InvariantCulture));
            return;
        }

        if (args is ["chunk", var file, .. var rest])
        {
            ChunkTimer.Run(file, rest is [var rounds] ? int.Parse(rounds, System.Globalization.CultureInfo.InvariantCulture) : 3);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkEntry).Assembly).Run(args);
    }
}
