namespace HealthRec.Server.Tests;

/// <summary>The <c>healthrec</c> command line run in-process, as a user types it (its server verb does nothing here).</summary>
internal static class Cli
{
    public static Task<int> RunAsync(params string[] args) =>
        HealthRecCommandLine.Create((_, _) => Task.FromResult(0)).Parse(args).InvokeAsync(cancellationToken: Ct);

    /// <summary>
    /// A command with its standard output and error captured. The console is the process's, so a caller is in the
    /// sequential collection (<see cref="SequentialServers"/>) and no other test writes to it meanwhile.
    /// </summary>
    public static Task<(int ExitCode, string Output, string Errors)> CaptureAsync(params string[] args) => CaptureAsync(() => RunAsync(args));

    /// <summary>Any run of the command line (e.g. through <c>HealthRecCommandLine.RunAsync</c>, as <c>Main</c> does), captured.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> CaptureAsync(Func<Task<int>> run)
    {
        var (output, errors) = (new StringWriter(), new StringWriter());
        var (originalOut, originalError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(errors);
        try
        {
            return (await run(), output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }

    /// <summary>A path in the repository, as a command's argument.</summary>
    public static string Repo(string path) => Path.Combine(TestServices.RepositoryRoot, path);

    /// <summary><c>train</c> or <c>retrain</c> on the shipped sample, outcomes, features and terminology, into <paramref name="models"/>.</summary>
    public static Task<int> ModelsAsync(string verb, string models, params string[] extra) => RunAsync(OnSample(verb, models, extra));

    /// <summary>The arguments of <see cref="ModelsAsync"/>.</summary>
    public static string[] OnSample(string verb, string models, params string[] extra) =>
    [
        verb, "--input", Repo("data/sample"), "--models", models, "--outcomes", Repo("models/outcomes"),
        "--features", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), .. extra,
    ];
}
