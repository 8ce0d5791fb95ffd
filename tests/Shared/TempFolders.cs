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
