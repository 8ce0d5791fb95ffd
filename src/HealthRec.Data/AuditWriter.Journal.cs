namespace HealthRec.Data;

/// <summary>The journal files on the node's disk: rotated, numbered, read back after a stop.</summary>
public sealed partial class AuditWriter
{
    // The writers move to a new journal file, opened beforehand: they wait only for the swap (a few assignments), never
    // for the file system, and never for this thread, which runs at a lower priority and could be descheduled while
    // holding the lock. If no new file can be created (a full or read-only disk), the writes go on in the current one,
    // taken at a later turn.
    private void Rotate()
    {
        var path = Numbered(_next);
        var next = Open(path);
        _next++;
        FileStream taken;
        string takenPath;
        List<AuditEntry>? pending;
        lock (_write)
        {
            (taken, takenPath, pending) = (_journal, _journalPath, _pending);
            (_journal, _journalPath, _written, _pending) = (next, path, 0, _failing ? null : []);
        }

        taken.Dispose();
        if (pending is not null)
        {
            _taken[takenPath] = pending;
        }
    }

    // The journals waiting for the chain, oldest first (one listing of the folder per turn): every one but the one being
    // written, after any an older version left.
    private IEnumerable<string> Waiting(string current) =>
        Directory.GetFiles(_folder, "*.ndjson").Select(f => (File: f, Age: Age(Path.GetFileName(f))))
            .Where(f => f.Age >= 0 && !string.Equals(f.File, current, StringComparison.Ordinal))
            .OrderBy(f => f.Age).ThenBy(f => f.File, StringComparer.Ordinal).Select(f => f.File);

    // Which generation of journal a file name is: an older version's moved-aside journals, then its current one, then
    // numbered ones; -1 for a file that is no journal.
    private static int Age(string name) =>
        name.StartsWith(LegacyDrainingPrefix, StringComparison.Ordinal) ? 0
        : name == LegacyCurrent ? 1
        : name.StartsWith(Prefix, StringComparison.Ordinal) ? 2
        : -1;

    private string Numbered(long n) => Path.Combine(_folder, $"{Prefix}{n:D12}.ndjson");

    private static FileStream Open(string path) => new(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024);

    private static async Task<List<AuditEntry>> ReadAsync(string file, CancellationToken cancellationToken)
    {
        var entries = new List<AuditEntry>();
        using var reader = new StreamReader(file, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            // A line cut short by a crash mid-write is the only thing that can fail to parse; the records before it stand.
            if (line.Length > 0 && TryParse(line) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    private static AuditEntry? TryParse(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.TryGetProperty("ResourceJson", out _))
            {
                // A journal written before the resource was written raw (the record serialized whole).
                return root.Deserialize<AuditEntry>();
            }

            return new AuditEntry(root.GetProperty("type").GetString()!, root.GetProperty("id").GetString()!, root.GetProperty("patient").GetString(),
                root.GetProperty("resource").GetRawText())
            {
                Search = [.. root.GetProperty("search").EnumerateArray().Select(v => new AuditSearchValue(v[0].GetString()!, v[1].GetString()!))],
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
