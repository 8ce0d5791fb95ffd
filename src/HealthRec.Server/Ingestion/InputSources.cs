namespace HealthRec.Server.Ingestion;

/// <summary>The <c>--input</c> of the CLI verbs: a file or folder of NDJSON or Bundles, or a FHIR base URL.</summary>
internal static class InputSources
{
    /// <summary>
    /// The source for one input, or null when it is neither an existing path nor an http(s) URL. A URL ending in
    /// <c>$export</c> is read by a Bulk Data export; any other URL is a FHIR base read by paged REST searches.
    /// </summary>
    public static IPatientSource? Open(string input, HttpClient http, string? token, FhirParsing parsing)
    {
        if (Uri.TryCreate(input, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
        {
            return BulkDataSource.IsExportUrl(url)
                ? new BulkDataSource(http, url, new BulkDataOptions { BearerToken = token, Parsing = parsing })
                : new FhirRestSource(http, url, new FhirRestSourceOptions { BearerToken = token });
        }

        if (File.Exists(input))
        {
            return input.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".ndjson.gz", StringComparison.OrdinalIgnoreCase)
                ? Ndjson(input)
                : new BundleSource(input, parsing);
        }

        if (Directory.Exists(input))
        {
            return NdjsonSource.Files(input).Count > 0 ? Ndjson(input) : new BundleSource(input, parsing);
        }

        return null;

        NdjsonSource Ndjson(string path) => new(path, new NdjsonSourceOptions { Parsing = parsing });
    }

    /// <summary>
    /// Every patient record of the inputs, in memory (training and evaluation need them all), or the argument that is
    /// wrong.
    /// </summary>
    public static async Task<(List<PatientRecord> Records, IngestionReport Report, string? Error)> ReadAllAsync(string[] inputs,
        ClinicalTerminology terminology, HttpClient http, CancellationToken cancellationToken)
    {
        var report = new IngestionReport();
        var records = new List<PatientRecord>();
        var sources = new List<IPatientSource>();
        foreach (var input in inputs)
        {
            if (Open(input, http, null, FhirParsing.Fast) is not { } source)
            {
                return (records, report, $"--input '{input}' is neither an existing file or folder nor an http(s) URL.");
            }

            sources.Add(source);
        }

        var mapper = new FhirRecordMapper(terminology, new UnitNormalizer());
        var progress = new Hosting.ConsoleProgress("read", "patients");
        for (var i = 0; i < sources.Count; i++)
        {
            try
            {
                // Local NDJSON is read a chunk per core, as `score` reads it; records in the same order on every run.
                await foreach (var record in RecordReader.ReadEachAsync<PatientRecord>(sources[i], mapper, report, record => [record], null, cancellationToken))
                {
                    records.Add(record);
                    progress.Report(records.Count);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or BulkDataException)
            {
                return (records, report, $"--input '{inputs[i]}' could not be read: {ex.Message}");
            }
        }

        return (records, report, null);
    }

    /// <summary>For a command-line verb: every record of the inputs, or null once the argument that is wrong has been printed.</summary>
    public static async Task<(List<PatientRecord> Records, IngestionReport Report)?> ReadForCommandAsync(string[] inputs, ClinicalTerminology terminology,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var (records, report, error) = await ReadAllAsync(inputs, terminology, http, cancellationToken);
        if (error is null)
        {
            // What the read left behind (parsed resources, chunk buffers) is garbage the Server GC would keep committed
            // through training: collected and given back to the system once, so a verb's peak is the records and its
            // model, not the read (50,000 patients: see docs/benchmarks.md, "train").
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return (records, report);
        }

        await Console.Error.WriteLineAsync(error);
        return null;
    }

    /// <summary>Data problems by kind, with the examples kept (each names its file and line or resource): one block of lines.</summary>
    public static void PrintProblems(IngestionReport report, TextWriter output)
    {
        output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"problems: {report.TotalProblems}"));
        foreach (var (kind, count) in report.ProblemsByKind.OrderBy(kv => kv.Key))
        {
            output.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"  {kind}: {count}"));
            foreach (var example in report.Examples(kind))
            {
                output.WriteLine($"    e.g. {example.Where}: {example.Message}");
            }
        }
    }

    /// <summary>The end of the day named by <c>--index-date</c> (UTC), null when not given; false (reported) when malformed.</summary>
    public static async Task<(bool Ok, DateTimeOffset? At)> IndexDateAsync(string? text)
    {
        if (text is null)
        {
            return (true, null);
        }

        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date))
        {
            await Console.Error.WriteLineAsync($"--index-date '{text}' is not a date of the form YYYY-MM-DD.");
            return (false, null);
        }

        return (true, new DateTimeOffset(date.ToDateTime(TimeOnly.MaxValue), TimeSpan.Zero));
    }

    /// <summary>The terminology and the compiled feature schema, or null (reported) when either is missing or invalid.</summary>
    public static async Task<(ClinicalTerminology Terminology, Clinical.Features.Featurizer Featurizer)?> SchemaAsync(string terminologyFolder, string schemaFile)
    {
        try
        {
            var terminology = TerminologyFiles.Load(terminologyFolder);
            return (terminology, TerminologyFiles.LoadFeaturizer(schemaFile, terminology));
        }
        catch (TerminologyException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return null;
        }
    }

    /// <summary>SHA-256 over the input files' names and bytes in name order (URLs are hashed by their text).</summary>
    public static string Fingerprint(IEnumerable<string> inputs)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var input in inputs.Order(StringComparer.Ordinal))
        {
            var files = File.Exists(input) ? [input] : Directory.Exists(input)
                ? Directory.GetFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray()
                : [];
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(input));
            foreach (var file in files)
            {
                sha.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(input, file)));
                using var stream = File.OpenRead(file);
                var buffer = new byte[1 << 16];
                int read;
                while ((read = stream.Read(buffer)) > 0)
                {
                    sha.AppendData(buffer.AsSpan(0, read));
                }
            }
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>A job's source setting as an input: a FHIR base URL as given, a path relative to <paramref name="root"/>.</summary>
    public static string Resolve(string root, string source) =>
        Uri.TryCreate(source, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? source : Path.Combine(root, source);

    /// <summary>Where a model's training data came from, for its bundle and model card.</summary>
    /// <summary>
    /// The command that reproduces a run (a model card's "command"): <c>healthrec</c>, the verb and every option given or
    /// defaulted, each value quoted for a POSIX shell where it needs to be; a null value is one not recorded (a
    /// connection string, which may hold a password).
    /// </summary>
    public static string CommandLine(string verb, IEnumerable<(string Option, string? Value)> options)
    {
        static string Quote(string value) => value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || "/._-:+=@,".Contains(c, StringComparison.Ordinal))
            ? value : $"'{value.Replace("'", "'\\''", StringComparison.Ordinal)}'";
        return string.Join(' ', options.Select(o => $"{o.Option} {(o.Value is null ? "<not recorded>" : Quote(o.Value))}").Prepend($"healthrec {verb}"));
    }

    public static ML.Registry.TrainingProvenance Provenance(string[] inputs, int seed, Clinical.Features.FeatureSchema schema, string command) =>
        new(string.Join(" ", inputs), Fingerprint(inputs), inputs.All(IsSynthetic), command, seed, schema.Id, schema.Version);

    /// <summary>Whether an input is a cohort made by HealthRec's generator (its manifest lies beside the data).</summary>
    public static bool IsSynthetic(string input) =>
        File.Exists(Path.Combine(Directory.Exists(input) ? input : Path.GetDirectoryName(Path.GetFullPath(input)) ?? ".", Fhir.Synthetic.CohortGenerator.ManifestFile));
}
