using System.CommandLine;

namespace HealthRec.Server.Hosting;

/// <summary>
/// The <c>healthrec</c> verbs. <c>serve</c> is the default; tokens it does not know (e.g. <c>--urls</c>,
/// <c>--ConnectionStrings:Postgres=...</c>) are handed to ASP.NET Core's configuration unchanged.
/// </summary>
internal static class HealthRecCommandLine
{
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
                return 1;
            }

            return await serve([.. result.UnmatchedTokens], cancellationToken);
        });
        return root;
    }
}
