namespace HealthRec.Testing;

/// <summary>Where the repository is, found from the running test or benchmark binary.</summary>
internal static class Repository
{
    /// <summary>The folder holding <c>HealthRec.sln</c>, above the binary's own folder.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "HealthRec.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException($"No HealthRec.sln above {AppContext.BaseDirectory}: run from inside the repository.");
        }
    }
}
