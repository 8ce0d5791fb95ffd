namespace HealthRec.Server.Hosting;

/// <summary>
/// The <c>healthrec</c> verbs. <c>serve</c> is the default; tokens it does not know (e.g. <c>--urls</c>,
/// <c>--ConnectionStrings:Postgres=...</c>) are handed to ASP.NET Core's configuration unchanged.
/// </summary>
internal static partial class HealthRecCommandLine
{
    /// <summary>
    /// Parses and runs a command line as the <c>healthrec</c> executable does: a bad argument or an unknown option of a
    /// verb is one line per problem on standard error and exit code 2; a file or folder that cannot be read or written
    /// is one line naming it and its reason, exit code 2; any other failure (a server that cannot start with its
    /// settings) is its message on one line, exit code 1 — never a stack trace (<c>--verbose</c> adds one).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, Func<string[], CancellationToken, Task<int>> serve, CancellationToken cancellationToken = default)
    {
        var verbose = args.Contains("--verbose", StringComparer.Ordinal);
        var root = Create(serve);
        var result = root.Parse([.. args.Where(a => a != "--verbose")]);
        var command = result.CommandResult.Command;
        var path = PathOf(result.CommandResult);
        var problems = result.Errors.Select(e => Humanize(e.Message)).ToList();
        if (command != root && command.Name != "serve")
        {
            problems.AddRange(result.UnmatchedTokens.Select(t => $"'{t}' is not an option or argument of '{path}'"));
        }

        if (problems.Count > 0)
        {
            foreach (var problem in problems.Distinct(StringComparer.Ordinal))
            {
                await Console.Error.WriteLineAsync(problem);
            }

            await Console.Error.WriteLineAsync($"Run 'healthrec {(command == root ? "" : path + " ")}--help' for its options.");
            return 2;
        }

        try
        {
            return await result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !verbose)
        {
            await Console.Error.WriteLineAsync($"{command.Name}: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !verbose)
        {
            // A setting the server cannot start with (a missing definitions folder, an invalid client key...) or a
            // defect: its message, one line, and where to see more.
            await Console.Error.WriteLineAsync($"{command.Name}: {ex.Message.ReplaceLineEndings(" ")} (run with --verbose for the stack trace)");
            return 1;
        }
    }

    // A subcommand as it is typed: "audit verify", not "verify".
    private static string PathOf(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (var at = result; at is { Parent: System.CommandLine.Parsing.CommandResult parent }; at = parent)
        {
            names.Insert(0, at.Command.Name);
        }

        return string.Join(' ', names);
    }

    // System.CommandLine's wording names .NET types ("as expected type 'System.Int32'"); say what a person would.
    private static string Humanize(string message) => CannotParse().Match(message) is { Success: true } m
        ? $"{m.Groups["option"].Value}: '{m.Groups["value"].Value}' is not {m.Groups["type"].Value switch
        {
            var t when t.Contains("Int32", StringComparison.Ordinal) || t.Contains("Int64", StringComparison.Ordinal) => "a whole number",
            var t when t.Contains("Double", StringComparison.Ordinal) || t.Contains("Decimal", StringComparison.Ordinal) => "a number",
            var t when t.Contains("Boolean", StringComparison.Ordinal) => "true or false",
            var other => $"a {other.Split('.')[^1].TrimEnd(']')}",
        }}"
        : message;

    [GeneratedRegex(@"Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'")]
    private static partial Regex CannotParse();

    public static RootCommand Create(Func<string[], CancellationToken, Task<int>> serve)
    {
        var serveCommand = new Command(
            "serve",
            "Start the server: CDS Hooks, health, OpenAPI reference and background jobs. ASP.NET Core settings may follow, " +
            "e.g. --urls http://127.0.0.1:5000 --ConnectionStrings:Postgres \"Host=...\".")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        serveCommand.SetAction((result, cancellationToken) => serve([.. result.UnmatchedTokens], cancellationToken));

        var root = new RootCommand(
            "HealthRec: FHIR-native clinical decision support. With no command, starts the server (same as 'serve').")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Subcommands.Add(serveCommand);
        root.Subcommands.Add(Ingestion.ImportCommand.Create());
        root.Subcommands.Add(Ingestion.FeaturesCommand.Create());
        root.Subcommands.Add(Synthetic.SynthCommand.Create());
        root.Subcommands.Add(Models.TrainCommand.Create());
        root.Subcommands.Add(Jobs.RetrainCommand.Create());
        root.Subcommands.Add(Models.ReferenceCommand.Create());
        root.Subcommands.Add(Models.EvaluateCommand.Create());
        root.Subcommands.Add(Models.ScoreCommand.Create());
        root.Subcommands.Add(Models.RecommendCommand.Create());
        root.Subcommands.Add(Audit.AuditCommand.Create());
        root.SetAction(async (result, cancellationToken) =>
        {
            // Only settings may stand where a command is expected: a mistyped verb must not start a server.
            var unknown = result.UnmatchedTokens.FirstOrDefault(token => !token.StartsWith('-') && !token.StartsWith('/'));
            if (unknown is not null && result.UnmatchedTokens[0] == unknown)
            {
                await Console.Error.WriteLineAsync($"Unknown command '{unknown}'. Run 'healthrec --help' for the commands.");
                return 2;
            }

            return await serve([.. result.UnmatchedTokens], cancellationToken);
        });
        return root;
    }
}
