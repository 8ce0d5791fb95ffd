namespace HealthRec.Server.Ingestion;

/// <summary>
/// <c>healthrec features</c>: any FHIR source to one CSV row per patient, through the same mapper and featurizer the
/// models use, with a summary of what was read and what was wrong.
/// </summary>
internal static class FeaturesCommand
{
    public static Command Create()
    {
        var inputs = new Option<string[]>("--input")
        {
            Description = "A folder or file of NDJSON or Bundle JSON, or an http(s) FHIR base URL. Repeatable. Default: data/raw/",
            AllowMultipleArgumentsPerToken = false,
        };
        var schema = CommonOptions.FeatureSchema("--schema");
        var terminology = CommonOptions.Terminology();
        var indexDate = new Option<string?>("--index-date") { Description = "YYYY-MM-DD; data up to the end of that day (UTC). Default: each patient's last recorded activity" };
        var output = new Option<string>("--out") { Description = "CSV file to write", DefaultValueFactory = _ => "data/processed/features.csv" };
        var tokenVariable = new Option<string?>("--bearer-token-env") { Description = "Name of an environment variable holding a bearer token for FHIR URLs" };
        var strict = new Option<bool>("--strict")
        {
            Description = "Validate every element with the FHIR SDK, also those HealthRec does not read (slower; reports more)",
        };
        var command = new Command("features", "Read FHIR data and write one feature row per patient (patient_id,index_date,<features>).")
        {
            inputs, schema, terminology, indexDate, output, tokenVariable, strict,
        };
        command.SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(inputs) is { Length: > 0 } given ? given : ["data/raw/"],
            result.GetValue(schema)!,
            result.GetValue(terminology)!,
            result.GetValue(indexDate),
            result.GetValue(output)!,
            result.GetValue(tokenVariable),
            result.GetValue(strict) ? FhirParsing.Strict : FhirParsing.Fast,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string[] inputs, string schemaFile, string terminologyFolder, string? indexDateText, string outputFile,
        string? tokenVariable, FhirParsing parsing, CancellationToken cancellationToken)
    {
        var (dateOk, indexAt) = await InputSources.IndexDateAsync(indexDateText);
        if (!dateOk)
        {
            return 2;
        }

        if (await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            return 2;
        }

        string? token = null;
        if (tokenVariable is not null && string.IsNullOrEmpty(token = Environment.GetEnvironmentVariable(tokenVariable)))
        {
            await Console.Error.WriteLineAsync($"--bearer-token-env names '{tokenVariable}', which is not set.");
            return 2;
        }

        using var http = new HttpClient();
        var sources = new List<IPatientSource>();
        foreach (var input in inputs)
        {
            if (InputSources.Open(input, http, token, parsing) is { } source)
            {
                sources.Add(source);
            }
            else
            {
                await Console.Error.WriteLineAsync($"--input '{input}' is neither an existing file or folder nor an http(s) URL.");
                return 2;
            }
        }

        var report = new IngestionReport();
        var mapper = new FhirRecordMapper(terms, new UnitNormalizer());
        var present = new long[featurizer.Width];
        long rows = 0, withoutData = 0;
        string? failure = null;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputFile))!);
        await using (var writer = new StreamWriter(outputFile))
        {
            await writer.WriteLineAsync("patient_id,index_date," + string.Join(',', featurizer.Names));
            var vector = new float[featurizer.Width];
            var progress = new Hosting.ConsoleProgress("features", "patients");
            try
            {
                foreach (var source in sources)
                {
                    await foreach (var record in RecordReader.ReadAsync(source, mapper, report, cancellationToken))
                    {
                        if ((indexAt ?? record.LastActivity) is not { } at)
                        {
                            withoutData++;
                            continue;
                        }

                        featurizer.Featurize(record, at, vector);
                        await writer.WriteLineAsync(Row(record, at, vector, present));
                        rows++;
                        progress.Report(rows);
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or BulkDataException)
            {
                failure = ex.Message;
            }
        }

        // A source that failed half-way leaves no half-written file behind.
        if (failure is not null)
        {
            File.Delete(outputFile);
            await Console.Error.WriteLineAsync($"Cannot read the FHIR server: {failure}");
            return 2;
        }

        if (report.Patients == 0)
        {
            File.Delete(outputFile);
            await Console.Error.WriteLineAsync($"No patient in {string.Join(", ", inputs)}: give --input a folder or file of FHIR NDJSON or Bundles, or a FHIR server's URL.");
            return 2;
        }

        PrintSummary(report, featurizer, present, rows, withoutData, outputFile);
        await UnusedDataReport.WriteAsync(report, UnreadFileBeside(outputFile), Console.Out);
        return 0;
    }

    private static string Row(PatientRecord record, DateTimeOffset at, float[] vector, long[] present)
    {
        var cells = new string[vector.Length + 2];
        cells[0] = CsvText.Field(record.PatientId);
        cells[1] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var i = 0; i < vector.Length; i++)
        {
            if (!float.IsNaN(vector[i]))
            {
                present[i]++;
                cells[i + 2] = vector[i].ToString("R", CultureInfo.InvariantCulture);
            }
            else
            {
                cells[i + 2] = "";
            }
        }

        return string.Join(',', cells);
    }

    /// <summary>The unused-data list beside an output file: <c>features.csv</c> → <c>features.unread-codes.csv</c>.</summary>
    internal static string UnreadFileBeside(string outputFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputFile))!, Path.GetFileNameWithoutExtension(outputFile) + ".unread-codes.csv");

    private static void PrintSummary(IngestionReport report, Featurizer featurizer, long[] present, long rows, long withoutData, string outputFile)
    {
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(invariant, $"patients: {report.Patients} read, {rows} rows written to {outputFile}, {withoutData} without any dated data"));
        Console.WriteLine("resources read: " + string.Join(", ", report.ResourcesByType.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        if (report.ExcludedByReason.Count > 0)
        {
            Console.WriteLine("excluded: " + string.Join(", ", report.ExcludedByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        }

        // Values accepted under a stated assumption or computed: each is marked in the record and said on any card that uses it.
        foreach (var (what, count) in report.NotedByKind.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Console.WriteLine(string.Create(invariant, $"noted: {what}: {count}"));
        }

        InputSources.PrintProblems(report, Console.Out);

        // A missing-value indicator is a number in every row (0 or 1): it is 1 exactly where its feature is absent, so it is
        // not listed as "present" (it always would be).
        Console.WriteLine("feature present (share of rows; a feature's _missing column is 1 in the others):");
        for (var i = 0; i < featurizer.Width; i++)
        {
            var name = featurizer.Names[i];
            if (name.EndsWith("_missing", StringComparison.Ordinal) && featurizer.Columns.ContainsKey(name[..^"_missing".Length]))
            {
                continue;
            }

            Console.WriteLine(string.Create(invariant, $"  {name,-32} {(rows == 0 ? 0 : (double)present[i] / rows),6:P1}"));
        }
    }
}
