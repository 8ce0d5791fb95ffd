namespace HealthRec.Fhir.Sources;

/// <summary>
/// The memory maps of this process's chunk jobs, shared: the chunks of a run read the same files, and a map made once
/// has its pages mapped once, where a map per chunk faults every page it touches in again and unmaps it after. A map
/// is dropped once unused for <see cref="Idle"/>, and replaced when its file's length or write time changes.
/// </summary>
internal static class SharedMappings
{
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(30);

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Entry> Maps = new(StringComparer.Ordinal);
    private static Timer? _sweeper;

    public static Lease Acquire(string path)
    {
        path = Path.GetFullPath(path);
        var info = new FileInfo(path);
        lock (Gate)
        {
            if (Maps.TryGetValue(path, out var entry))
            {
                if (entry.File.Length == info.Length && entry.Written == info.LastWriteTimeUtc)
                {
                    entry.Users++;
                    return new Lease(entry);
                }

                // The file was replaced: its old map goes when its last reader is done.
                Maps.Remove(path);
                entry.Dropped = true;
                if (entry.Users == 0)
                {
                    entry.File.Dispose();
                }
            }

            entry = new Entry(new MappedFile(path), info.LastWriteTimeUtc) { Users = 1 };
            Maps[path] = entry;
            _sweeper ??= new Timer(_ => Sweep(), null, Idle, Idle);
            return new Lease(entry);
        }
    }

    /// <summary>Drops the unused maps of the files under <paramref name="folder"/> now (before it is deleted: a map holds a deleted file's space).</summary>
    public static void DropUnder(string folder)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar;
        Drop((path, _) => path.StartsWith(prefix, StringComparison.Ordinal));
    }

    // Every map unused for Idle goes; with none left, so does the timer.
    private static void Sweep()
    {
        var now = Environment.TickCount64;
        Drop((_, entry) => now - entry.LastUsed >= Idle.TotalMilliseconds);
        lock (Gate)
        {
            if (Maps.Count == 0)
            {
                _sweeper?.Dispose();
                _sweeper = null;
            }
        }
    }

    // Unmaps and forgets the unused maps that match.
    private static void Drop(Func<string, Entry, bool> which)
    {
        lock (Gate)
        {
            foreach (var (path, entry) in Maps.Where(kv => kv.Value.Users == 0 && which(kv.Key, kv.Value)).ToList())
            {
                Maps.Remove(path);
                entry.File.Dispose();
            }
        }
    }

    private static void Release(Entry entry)
    {
        lock (Gate)
        {
            entry.Users--;
            entry.LastUsed = Environment.TickCount64;
            if (entry.Dropped && entry.Users == 0)
            {
                entry.File.Dispose();
            }
        }
    }

    public sealed class Entry(MappedFile file, DateTime written)
    {
        private string? _fingerprint;

        public MappedFile File { get; } = file;

        public DateTime Written { get; } = written;

        public int Users { get; set; }

        public long LastUsed { get; set; }

        public bool Dropped { get; set; }

        public string Fingerprint => _fingerprint ??= NdjsonIndex.Fingerprint(File);
    }

    /// <summary>One reader's use of a map; disposing it gives the map back.</summary>
    public sealed class Lease(Entry entry) : IDisposable
    {
        private int _disposed;

        public MappedFile File => entry.File;

        public string Fingerprint => entry.Fingerprint;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Release(entry);
            }
        }
    }
}
