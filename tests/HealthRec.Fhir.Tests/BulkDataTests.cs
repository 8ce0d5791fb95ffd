using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Tests;

/// <summary>Bulk Data export from the FHIR test server: kick-off, polling, downloads, errors, and the token's path.</summary>
public sealed class BulkDataTests
{
    // Per run: the server's request log is shared with the tests running beside this one, and the token tells its requests apart.
    private static readonly string Token = $"bulk-export-{Guid.NewGuid():N}";

    [Fact]
    public async Task GivenPatientsOnTheServer_WhenExportedInBulk_ThenTheirRecordsAreThoseReadByRestAndEveryRequestCarriedTheToken()
    {
        var ids = await LoadSyntheaAsync(2);
        using var http = new HttpClient();
        var bulkReport = new IngestionReport();
        var exportUrl = new Uri(TestServices.FhirBaseUrl, "$export");

        var exported = await Ingestion.ReadAllAsync(new BulkDataSource(http, exportUrl, new BulkDataOptions { BearerToken = Token }), bulkReport);
        var rest = await Ingestion.ReadAllAsync(new FhirRestSource(http, TestServices.FhirBaseUrl, new FhirRestSourceOptions
        {
            PatientIds = ids,
            BearerToken = Token,
            Deadline = TimeSpan.FromSeconds(60),
        }), new IngestionReport());

        // The server holds other tests' patients too: an export is of the whole server, so compare these two.
        var mine = exported.Where(r => ids.Contains(r.PatientId)).OrderBy(r => r.PatientId, StringComparer.Ordinal).ToList();
        Assert.Equal(2, mine.Count);
        Assert.Equal(rest.OrderBy(r => r.PatientId, StringComparer.Ordinal).Select(FastPathTests.Describe), mine.Select(FastPathTests.Describe));
        Assert.All(mine, r => Assert.NotEmpty(r.Measurements));
        Assert.All(mine, r => Assert.NotEmpty(r.Encounters));

        // Kick-off, a status answered 202 then 200 (one Retry-After waited), each file, and the DELETE: every request
        // about this export carried the token.
        var log = await RequestLogAsync(http);
        string Url(JsonNode? r) => Uri.UnescapeDataString((string)r!["url"]!);
        var kickOff = Assert.Single(log, r => Url(r).Contains("/$export?", StringComparison.Ordinal) && (string?)r!["authorization"] == $"Bearer {Token}");
        Assert.Contains("_type=Patient,Observation,Condition,MedicationStatement,MedicationRequest", Url(kickOff), StringComparison.Ordinal);
        var id = log.Where(r => (string?)r!["authorization"] == $"Bearer {Token}").Select(r => Url(r))
            .Select(u => System.Text.RegularExpressions.Regex.Match(u, @"/\$export-status/(\d+)")).First(m => m.Success).Groups[1].Value;
        var status = log.Where(r => Url(r).EndsWith($"/$export-status/{id}", StringComparison.Ordinal)).ToList();
        var files = log.Where(r => Url(r).Contains($"/$export-file/{id}/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["GET", "GET", "DELETE"], status.Select(r => (string)r!["method"]!));
        Assert.Contains(files, r => Url(r).EndsWith("/Observation.ndjson", StringComparison.Ordinal));
        Assert.All(status.Concat(files), r => Assert.Equal($"Bearer {Token}", (string?)r!["authorization"]));
    }

    [Fact]
    public async Task GivenATypeTheServerCannotExport_WhenExported_ThenItsOperationOutcomeIsReportedAndTheOtherTypesAreRead()
    {
        var ids = await LoadSyntheaAsync(1);
        using var http = new HttpClient();
        var report = new IngestionReport();

        var records = await Ingestion.ReadAllAsync(new BulkDataSource(http, new Uri(TestServices.FhirBaseUrl, "$export?_type=Patient,Observation,NoSuchType")), report);

        Assert.Contains(records, r => r.PatientId == ids[0] && r.Measurements.Count > 0);
        Assert.Equal(1, report.Count(ProblemKind.OperationOutcome));
        Assert.Contains("NoSuchType", Assert.Single(report.Examples(ProblemKind.OperationOutcome)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAKickOffTheServerRefuses_WhenExported_ThenTheErrorSaysWhatTheServerSaid()
    {
        using var http = new HttpClient();

        // A Group-level export of a group the server does not have.
        var refused = await Assert.ThrowsAsync<BulkDataException>(() => Ingestion.ReadAllAsync(
            new BulkDataSource(http, new Uri(TestServices.FhirBaseUrl, "Group/no-such-group/$export")), new IngestionReport()));

        Assert.Contains("was answered 4", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not 202", refused.Message, StringComparison.Ordinal);
    }

    // Posts the smallest Synthea bundles as transactions; their patients' ids on the server.
    private static async Task<List<string>> LoadSyntheaAsync(int count)
    {
        using var client = FhirTestServerTests.CreateClient();
        var ids = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json")
            .OrderBy(path => new FileInfo(path).Length).Take(count))
        {
            var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await File.ReadAllTextAsync(file, Ct));
            var response = await client.TransactionAsync(bundle, ct: Ct);
            ids.Add(response!.Entry.Select(e => e.Response!.Location!).First(l => l.StartsWith("Patient/", StringComparison.Ordinal)).Split('/')[1]);
        }

        return ids;
    }

    private static async Task<List<JsonNode?>> RequestLogAsync(HttpClient http) =>
        [.. JsonNode.Parse(await http.GetStringAsync(new Uri(TestServices.FhirBaseUrl, "/__admin/requests"), Ct))!.AsArray()];
}
