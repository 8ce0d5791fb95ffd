namespace HealthRec.Server.Ingestion;

/// <summary>
/// <c>healthrec import</c>: a CSV table to FHIR Bulk Data NDJSON as a mapping file describes it (see
/// <see cref="TableMapping"/>), ready for <c>features</c>, <c>train</c> and <c>evaluate</c>.
/// </summary>
internal static class ImportCommand
{
    public const int ProblemsShown = 20;

    public static Command Create()
    {
        var table = new Option<string>("--table") { Description = "The CSV file to import (first line: the column names)", Required = true };
        var mapping = new Option<string>("--mapping") { Description = "JSON file mapping the table's columns to patients, codes, units, dates and the label", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write Patient.ndjson, Observation.ndjson and Condition.ndjson into", Required = true };
        var command = new Command("import", "Turn a CSV table into FHIR Bulk Data NDJSON, as a mapping file describes it; bad cells are reported by line and column.")
        {
            table, mapping, output,
        };
        command.SetAction((result, cancellationToken) => RunAsync(result.GetValue(table)!, result.GetValue(mapping)!, result.GetValue(output)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string tableFile, string mappingFile, string outFolder, CancellationToken cancellationToken)
    {
        if (!File.Exists(tableFile) || !File.Exists(mappingFile))
        {
            await Console.Error.WriteLineAsync($"{(File.Exists(tableFile) ? $"--mapping '{mappingFile}'" : $"--table '{tableFile}'")} is not a file.");
            return 2;
        }

        var (map, mappingProblems) = TableMapping.Parse(await File.ReadAllTextAsync(mappingFile, cancellationToken), mappingFile);
        if (map is null)
        {
            foreach (var problem in mappingProblems)
            {
                await Console.Error.WriteLineAsync(problem);
            }

            return 2;
        }

        ImportResult result;
        using (var reader = new StreamReader(tableFile))
        {
            result = await TableImporter.ImportAsync(reader, map, outFolder, cancellationToken);
        }

        var ci = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(ci, $"{tableFile}: {result.Rows:N0} rows, {result.SkippedRows:N0} left out; wrote {result.Patients:N0} patients and {result.Observations:N0} observations to {outFolder}") +
            (map.Label is null ? "" : string.Create(ci, $"; label: {result.Positives:N0} positive, {result.Negatives:N0} negative, {result.Patients - result.Positives - result.Negatives:N0} without a label")));
        var problemsFile = Path.Combine(outFolder, "import-problems.csv");
        File.Delete(problemsFile);
        if (result.Problems.Count > 0)
        {
            await using (var file = new StreamWriter(problemsFile))
            {
                await file.WriteLineAsync("line,column,problem");
                foreach (var p in result.Problems)
                {
                    await file.WriteLineAsync(CsvText.Line(p.Line.ToString(ci), p.Column ?? "", p.Message));
                }
            }

            Console.WriteLine(string.Create(ci, $"problems: {result.Problems.Count:N0} (all in {problemsFile})"));
            foreach (var p in result.Problems.Take(ProblemsShown))
            {
                Console.WriteLine($"  {p}");
            }
        }
        else
        {
            Console.WriteLine("problems: 0");
        }

        return result.Patients > 0 ? 0 : 1;
    }
}
