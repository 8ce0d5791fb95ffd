namespace HealthRec.Testing;

/// <summary>Temporary folders for tests, removed with what they hold when the test ends, however it ends.</summary>
internal static class TempFolders
{
    /// <summary>Deletes <paramref name="folder"/> and what it holds when disposed: <c>using var removed = folder.DeletedAtEnd();</c>.</summary>
    public static IDisposable DeletedAtEnd(this DirectoryInfo folder) => new Deletion(folder);

    private sealed class Deletion(DirectoryInfo folder) : IDisposable
    {
        public void Dispose()
        {
            folder.Refresh();
            if (folder.Exists)
            {
                folder.Delete(recursive: true);
            }
        }
    }
}

/// <summary>A test class with a temporary folder of its own (<see cref="Folder"/>), removed with what it holds after each test.</summary>
public abstract class TempFolderTests(string prefix) : IDisposable
{
    protected DirectoryInfo Folder { get; } = Directory.CreateTempSubdirectory(prefix);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        Folder.Refresh();
        if (disposing && Folder.Exists)
        {
            Folder.Delete(recursive: true);
        }
    }
}
