namespace HealthRec.Server.Models;

/// <summary>
/// <c>healthrec score</c>: every patient of the input, every current model: the estimate, its band, the model version
/// and the top factors, streamed to CSV or NDJSON (by the output's extension).
/// </summary>
internal static class ScoreCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output file: .csv or .ndjson", Required = true };
        var indexDate = new Option<string?>("--index-date") { Description = "YYYY-MM-DD; default: each patient's last recorded activity" };
        var command = new Command("score", "Score every patient with every current model (estimate, band, model version, top factors).")
        {
            output, indexDate,
        };
        var data = ModelDataOptions.AddTo(command, outcomesDescription: null);
        command.SetAction((result, cancellationToken) => RunAsync(data.Read(result), result.GetValue(output)!, result.GetValue(indexDate), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, string outputFile, string? indexDateText, CancellationToken cancellationToken)
    {
        var (inputs, modelsFolder, _, schemaFile, terminologyFolder) = data;
        var ndjson = outputFile.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
        if (!ndjson && !outputFile.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"--out '{outputFile}' must end in .csv or .ndjson.");
            return 2;
        }

        var (dateOk, indexAt) = await InputSources.IndexDateAsync(indexDateText);
        if (!dateOk)
        {
            return 2;
        }

        if (await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            return 2;
        }

        var outcomes = ModelRegistry.Outcomes(modelsFolder).ToList();
        if (outcomes.Count == 0)
        {
            await Console.Error.WriteLineAsync($"No registered model in '{modelsFolder}'. Train one with 'healthrec train'.");
            return 2;
        }

        var predictors = outcomes.Select(o => OutcomePredictor.LoadCurrent(modelsFolder, o, featurizer, terms)).ToList();
        using var http = new HttpClient();
        var sources = new List<Fhir.Sources.IPatientSource>();
        foreach (var input in inputs)
        {
            if (InputSources.Open(input, http, null, FhirParsing.Fast) is not { } source)
            {
                await Console.Error.WriteLineAsync($"--input '{input}' is neither an existing file or folder nor an http(s) URL.");
                return 2;
            }

            sources.Add(source);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputFile))!);
        long patients = 0, rows = 0;
        var report = new IngestionReport();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using (var writer = new StreamWriter(outputFile))
        {
            if (!ndjson)
            {
                await writer.WriteLineAsync("patient_id,index_date,outcome,estimate,band,model_version,top_factors");
            }

            var mapper = new FhirRecordMapper(terms, new UnitNormalizer());
            var progress = new Hosting.ConsoleProgress("score", "patients");
            foreach (var source in sources)
            {
                // Local NDJSON is scored a chunk per core, rows in chunk order; other sources patient by patient.
                await foreach (var line in RecordReader.ReadEachAsync(source, mapper, report, record => Rows(record, predictors, indexAt, ndjson),
                    () => progress.Report(Interlocked.Increment(ref patients)), cancellationToken))
                {
                    rows++;
                    await writer.WriteLineAsync(line);
                }
            }
        }

        foreach (var predictor in predictors)
        {
            predictor.Dispose();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scored {patients:N0} patients ({rows:N0} estimates from {predictors.Count} models) in {clock.Elapsed.TotalSeconds:N1} s: {outputFile}"));
        // Lines and values that could not be read are said, by file and line, not dropped in silence.
        InputSources.PrintProblems(report, Console.Out);
        return 0;
    }

    // One row per model whose population the patient is in, at the index date (default: the patient's last activity).
    private static IEnumerable<string> Rows(Clinical.Records.PatientRecord record, List<OutcomePredictor> predictors, DateTimeOffset? indexAt, bool ndjson)
    {
        if ((indexAt ?? record.LastActivity) is not { } at)
        {
            yield break;
        }

        foreach (var predictor in predictors)
        {
            if (predictor.Predict(record, at) is { } prediction)
            {
                yield return ndjson ? Json(record.PatientId, at, prediction) : Csv(record.PatientId, at, prediction);
            }
        }
    }

    private static string Csv(string patientId, DateTimeOffset at, RiskPrediction p) => string.Join(',',
        Ingestion.CsvText.Field(patientId), at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), p.Outcome,
        p.Estimate.ToString("0.#####", CultureInfo.InvariantCulture), p.Band ?? "", p.ModelVersion,
        Ingestion.CsvText.Field(string.Join("; ", p.Factors.Select(f => $"{f.Text} ({f.Direction})"))));

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Json(string patientId, DateTimeOffset at, RiskPrediction p) => JsonSerializer.Serialize(new
    {
        patient_id = patientId,
        index_date = at.UtcDateTime,
        outcome = p.Outcome,
        estimate = Math.Round(p.Estimate, 5),
        kind = p.Kind == Clinical.Outcomes.OutcomeKind.Binary ? "probability" : "value",
        band = p.Band,
        model_version = p.ModelVersion,
        validation = p.Validation,
        top_factors = p.Factors.Select(f => new { feature = f.Feature, text = f.Text, direction = f.Direction, contribution = Math.Round(f.Contribution, 4) }),
    }, JsonOptions);
}
