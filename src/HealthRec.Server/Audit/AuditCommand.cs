namespace HealthRec.Server.Audit;

/// <summary><c>healthrec audit verify</c>: walks the audit trail's hash chain and reports the first broken record.</summary>
internal static class AuditCommand
{
    public static Command Create()
    {
        var database = new Option<string>("--database")
        {
            Description = "The HealthRec database: the SQLite file the server writes (default var/healthrec.db) or a PostgreSQL connection string",
            DefaultValueFactory = _ => Path.Combine("var", "healthrec.db"),
        };
        var verify = new Command("verify", "Walk the audit trail's hash chain; exit 0 when intact, 1 at the first broken record (named), 2 when it cannot be read.") { database };
        verify.SetAction((result, cancellationToken) => VerifyAsync(result.GetValue(database)!, cancellationToken));
        return new Command("audit", "The tamper-evident audit trail.") { verify };
    }

    private static async Task<int> VerifyAsync(string database, CancellationToken cancellationToken)
    {
        var (opened, problem) = CommandDatabase.Open(database, "--database");
        if (opened is null)
        {
            await Console.Error.WriteLineAsync(problem);
            return 2;
        }

        await using (opened)
        {
            AuditVerification verification;
            try
            {
                verification = await new AuditStore(opened.Database, TimeProvider.System).VerifyAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException)
            {
                await Console.Error.WriteLineAsync($"The audit trail could not be read ({CommandDatabase.Describe(ex)}); a database the server has not migrated has none.");
                return 2;
            }

            if (verification.Intact)
            {
                Console.WriteLine($"Audit trail intact: {verification.Records:N0} records, every link verified.");
                return 0;
            }

            await Console.Error.WriteLineAsync($"Audit trail broken at record {verification.BrokenAt}: {verification.Problem}.");
            return 1;
        }
    }
}
