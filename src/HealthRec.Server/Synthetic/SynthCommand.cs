using HealthRec.Fhir.Synthetic;

namespace HealthRec.Server.Synthetic;

/// <summary>
/// <c>healthrec synth</c>: writes a synthetic cohort (Bulk Data NDJSON or a Bundle per patient), with progress on
/// standard error for long runs.
/// </summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var patients = new Option<int>("--patients") { Description = "How many patients", DefaultValueFactory = _ => 1000 };
        var seed = new Option<ulong>("--seed") { Description = "Random seed: the same seed gives the same bytes", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Folder to write (created if missing)", Required = true };
        var format = new Option<string>("--format") { Description = "ndjson (Bulk Data files by type) or bundles (a transaction Bundle per patient)", DefaultValueFactory = _ => "ndjson" };
        format.AcceptOnlyFromAmong("ndjson", "bundles");
        var start = new Option<string>("--start") { Description = "First day of the simulated record, YYYY-MM-DD", DefaultValueFactory = _ => "2015-01-01" };
        var years = new Option<int>("--years") { Description = "Years of follow-up (default 13: a 10-year outcome needs index dates with ten years of data after them)", DefaultValueFactory = _ => 13 };
        var command = new Command("synth", "Write a synthetic cohort of FHIR R4 patients (labelled synthetic) with outcomes and treatment effects.")
        {
            patients, seed, output, format, start, years,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(patients), result.GetValue(seed), result.GetValue(output)!, result.GetValue(format)!, result.GetValue(start)!,
            result.GetValue(years), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int patients, ulong seed, string output, string format, string startText, int years,
        CancellationToken cancellationToken)
    {
        if (!DateOnly.TryParseExact(startText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
        {
            await Console.Error.WriteLineAsync($"--start '{startText}' is not a date of the form YYYY-MM-DD.");
            return 2;
        }

        if (patients < 1 || years is < 1 or > 50)
        {
            await Console.Error.WriteLineAsync("--patients must be at least 1 and --years between 1 and 50.");
            return 2;
        }

        var options = new CohortOptions { Patients = patients, Seed = seed, Start = start, Years = years };
        var kind = format == "bundles" ? SyntheticFormat.Bundles : SyntheticFormat.Ndjson;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"healthrec synth --patients {patients} --seed {seed} --out {output} --format {format} --start {start:yyyy-MM-dd} --years {years}");
        var progress = new Hosting.ConsoleProgress("synth", "patients", patients);

        var summary = await new CohortGenerator(options).WriteAsync(output, kind, progress, line, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {summary.Patients:N0} synthetic patients to {output} in {summary.Elapsed.TotalSeconds:N1} s ({summary.Patients / summary.Elapsed.TotalSeconds:N0}/s)"));
        Console.WriteLine("resources: " + string.Join(", ", summary.Resources.Where(kv => kv.Value > 0).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:N0}"))));
        Console.WriteLine("injected data-entry errors: " + string.Join(", ", summary.InjectedErrors.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:N0}")))
            + $" (listed in {CohortGenerator.ErrorsFile})");
        return 0;
    }
}
