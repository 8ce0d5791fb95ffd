namespace HealthRec.Fhir.Sources;

/// <summary>Settings of a FHIR Bulk Data export.</summary>
public sealed record BulkDataOptions
{
    /// <summary>Sent on the kick-off and status requests, and on file downloads when the manifest requires it.</summary>
    public string? BearerToken { get; init; }

    /// <summary>The resource types asked for when the kick-off URL names none (<c>_type</c>).</summary>
    public IReadOnlyList<string> Types { get; init; } =
        ["Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Encounter", "QuestionnaireResponse", "DiagnosticReport", "AllergyIntolerance", "Procedure"];

    /// <summary>How long the whole export (kick-off, waiting, downloads) may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(6);

    /// <summary>The wait between status requests when the server gives no <c>Retry-After</c>.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between status requests, whatever <c>Retry-After</c> says.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMinutes(2);

    public FhirParsing Parsing { get; init; } = FhirParsing.Fast;
}

/// <summary>An export the server refused, failed, or answered in a way the Bulk Data specification does not allow.</summary>
public sealed class BulkDataException(string message) : Exception(message);

/// <summary>What an export wrote: its files and the server's time of the snapshot.</summary>
public sealed record BulkExport(IReadOnlyList<string> Files, string? TransactionTime, int ErrorFiles);

/// <summary>
/// FHIR Bulk Data export (Bulk Data Access IG, the asynchronous request pattern): a kick-off GET at the given
/// <c>$export</c> URL (system, <c>Patient/</c> or <c>Group/{id}/</c> level, as the EHR scopes it) with
/// <c>Prefer: respond-async</c>; the status URL from <c>Content-Location</c> polled as <c>Retry-After</c> asks; then every
/// output file downloaded as NDJSON and the error files' OperationOutcomes reported; the export deleted on the server
/// when done. The files are then read like any NDJSON folder. The bearer token goes to the status URL only when it is on
/// the kick-off's origin, and to file URLs only when the manifest says <c>requiresAccessToken</c> and the URL is https
/// or loopback: a token is never sent in clear or to a host that did not ask for it.
/// </summary>
public sealed class BulkDataSource(HttpClient http, Uri kickOff, BulkDataOptions? options = null) : IPatientSource
{
    private readonly BulkDataOptions _options = options ?? new BulkDataOptions();

    /// <summary>Whether a source URL asks for a Bulk Data export (its path ends in <c>$export</c>).</summary>
    public static bool IsExportUrl(Uri url) => url.AbsolutePath.EndsWith("/$export", StringComparison.Ordinal);

    public async IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-export-");
        try
        {
            await ExportAsync(folder.FullName, report, cancellationToken);
            var files = new NdjsonSource(folder.FullName, new NdjsonSourceOptions { Parsing = _options.Parsing });
            await foreach (var patient in files.ReadAsync(report, cancellationToken))
            {
                yield return patient;
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Runs the export and writes its output into <paramref name="folder"/> as <c>{Type}.{n}.ndjson</c>.</summary>
    public async Task<BulkExport> ExportAsync(string folder, IngestionReport report, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var token = linked.Token;
        try
        {
            var status = await KickOffAsync(token);
            try
            {
                var manifest = await PollAsync(status, token);
                return await DownloadAsync(manifest, folder, report, token);
            }
            finally
            {
                await ForgetAsync(status);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new BulkDataException($"The export from {kickOff.GetLeftPart(UriPartial.Path)} did not finish within {_options.Timeout}.");
        }
    }

    private async Task<Uri> KickOffAsync(CancellationToken cancellationToken)
    {
        var url = kickOff.Query.Contains("_type=", StringComparison.Ordinal)
            ? kickOff
            : new Uri($"{kickOff.AbsoluteUri}{(kickOff.Query.Length > 0 ? "&" : "?")}_type={string.Join(',', _options.Types)}");
        using var request = Request(HttpMethod.Get, url, _options.BearerToken);
        request.Headers.Add("Prefer", "respond-async");
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new BulkDataException($"The export kick-off at {kickOff.GetLeftPart(UriPartial.Path)} was answered {(int)response.StatusCode}, not 202: " +
                await ProblemAsync(response, cancellationToken));
        }

        if ((response.Content.Headers.ContentLocation ?? response.Headers.Location) is not { } location)
        {
            throw new BulkDataException($"The export kick-off at {kickOff.GetLeftPart(UriPartial.Path)} was accepted without a Content-Location to poll.");
        }

        var status = location.IsAbsoluteUri ? location : new Uri(url, location);
        if (!SameOrigin(status, kickOff))
        {
            throw new BulkDataException($"The export's status URL {status.GetLeftPart(UriPartial.Authority)} is on another origin than its kick-off; it is not followed.");
        }

        return status;
    }

    private async Task<JsonDocument> PollAsync(Uri status, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var request = Request(HttpMethod.Get, status, _options.BearerToken);
            using var response = await http.SendAsync(request, cancellationToken);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
                    {
                        return await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
                    }

                // Still running, or the server asks for patience: wait as it says, within bounds.
                case HttpStatusCode.Accepted or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable:
                    await Task.Delay(Wait(response.Headers.RetryAfter), cancellationToken);
                    break;
                default:
                    throw new BulkDataException($"The export failed: its status was answered {(int)response.StatusCode}: {await ProblemAsync(response, cancellationToken)}");
            }
        }
    }

    private async Task<BulkExport> DownloadAsync(JsonDocument manifest, string folder, IngestionReport report, CancellationToken cancellationToken)
    {
        using (manifest)
        {
            var root = manifest.RootElement;
            var requiresToken = root.TryGetProperty("requiresAccessToken", out var required) && required.ValueKind == JsonValueKind.True;
            var files = new List<string>();
            var outputs = Items(root, "output");
            for (var i = 0; i < outputs.Count; i++)
            {
                var (type, url) = outputs[i];
                // The type names the file (NdjsonSource counts patients from Patient.*); anything but letters is refused.
                if (!type.All(char.IsAsciiLetter))
                {
                    throw new BulkDataException($"The export's output {i} names the type '{type}', which is not a FHIR resource type.");
                }

                var file = Path.Combine(folder, $"{type}.{i:D4}.ndjson");
                await SaveAsync(url, requiresToken, file, cancellationToken);
                files.Add(file);
            }

            var errors = Items(root, "error");
            foreach (var (index, (_, url)) in errors.Index())
            {
                var file = Path.Combine(folder, $"errors.{index:D4}.txt");
                await SaveAsync(url, requiresToken, file, cancellationToken);
                foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken))
                {
                    if (line.Length > 0)
                    {
                        report.Problem(ProblemKind.OperationOutcome, $"$export error file {index}", Diagnostics(line));
                    }
                }

                File.Delete(file);
            }

            var time = root.TryGetProperty("transactionTime", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return new BulkExport(files, time, errors.Count);
        }
    }

    private static List<(string Type, Uri Url)> Items(JsonElement manifest, string name)
    {
        var items = new List<(string, Uri)>();
        if (!manifest.TryGetProperty(name, out var array))
        {
            return items;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new BulkDataException($"The export manifest's '{name}' is not an array.");
        }

        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String
                || !Uri.TryCreate(url.GetString(), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                throw new BulkDataException($"An item of the export manifest's '{name}' has no absolute http(s) url.");
            }

            items.Add((item.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()! : "", uri));
        }

        return items;
    }

    private async Task SaveAsync(Uri url, bool requiresToken, string file, CancellationToken cancellationToken)
    {
        string? token = null;
        if (requiresToken && _options.BearerToken is { } bearer)
        {
            if (url.Scheme != Uri.UriSchemeHttps && !url.IsLoopback)
            {
                throw new BulkDataException($"The export file at {url.GetLeftPart(UriPartial.Authority)} needs the access token but is not https; the token is not sent in clear.");
            }

            token = bearer;
        }

        using var request = Request(HttpMethod.Get, url, token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+ndjson"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new BulkDataException($"An export file could not be downloaded: {(int)response.StatusCode} from {url.GetLeftPart(UriPartial.Path)}.");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        await body.CopyToAsync(output, cancellationToken);
    }

    // Tells the server the files are no longer needed (the specification's optional DELETE); a failure changes nothing.
    private async Task ForgetAsync(Uri status)
    {
        try
        {
            using var request = Request(HttpMethod.Delete, status, _options.BearerToken);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await http.SendAsync(request, timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // The server removes exports by itself after a while.
        }
    }

    private TimeSpan Wait(RetryConditionHeaderValue? retryAfter)
    {
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } at ? at - DateTimeOffset.UtcNow : _options.PollInterval);
        return wait < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : wait > _options.MaxPollInterval ? _options.MaxPollInterval : wait;
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri url, string? token)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    // What the server said went wrong: an OperationOutcome's diagnostics or details, else the first 300 characters.
    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length == 0 ? "(no body)" : Diagnostics(text);
    }

    private static string Diagnostics(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var texts = document.RootElement.TryGetProperty("issue", out var issues) && issues.ValueKind == JsonValueKind.Array
                ? issues.EnumerateArray().Select(i =>
                    i.TryGetProperty("diagnostics", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()
                    : i.TryGetProperty("details", out var details) && details.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
                    : null).OfType<string>().ToList()
                : [];
            if (texts.Count > 0)
            {
                return string.Join("; ", texts);
            }
        }
        catch (JsonException)
        {
            // Not JSON: quoted as it is, shortened.
        }

        return json.Length <= 300 ? json : json[..300] + "…";
    }
}
