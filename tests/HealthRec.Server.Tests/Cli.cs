namespace HealthRec.Server.Tests;

/// <summary>The <c>healthrec</c> command line run in-process, as a user types it (its server verb does nothing here).</summary>
internal static class Cli
{
    public static Task<int> RunAsync(params string[] args) =>
        HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse(args).InvokeAsync(cancellationToken: Ct);

    /// <summary>A path in the repository, as a command's argument.</summary>
    public static string Repo(string path) => Path.Combine(TestServices.RepositoryRoot, path);

    /// <summary><c>train</c> or <c>retrain</c> on the shipped sample, outcomes, features and terminology, into <paramref name="models"/>.</summary>
    public static Task<int> ModelsAsync(string verb, string models, params string[] extra) => RunAsync([
        verb, "--input", Repo("data/sample"), "--models", models, "--outcomes", Repo("models/outcomes"),
        "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), .. extra,
    ]);
}
