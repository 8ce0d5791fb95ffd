using HealthRec.ML.Recommendation;
using HealthRec.ML.Serving;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests.Smart;

/// <summary>
/// The SMART app's patient view, previewed over the FHIR test server: what it shows is what the serving models and the
/// recommender give for the record the same server holds, at the moment the page names.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed partial class PatientViewTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-view-");
    private RunningServer _server = null!;
    private List<string> _patients = [];

    public async ValueTask InitializeAsync()
    {
        // Generated patients with records up to today, put on the FHIR test server by id.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await new CohortGenerator(new CohortOptions { Patients = 40, Seed = 20261204, Start = today.AddYears(-10), Years = 10, ErrorRate = 0 })
            .WriteAsync(_folder.FullName, SyntheticFormat.Ndjson, null, "test", Ct);
        var resources = Directory.GetFiles(_folder.FullName, "*.ndjson").SelectMany(File.ReadLines)
            .Select(line => FhirJson.TryParse(line, "generated", new IngestionReport())!).ToList();
        _patients = [.. resources.OfType<Patient>().Where(p => p.Deceased is null).Take(4).Select(p => p.Id!)];
        var load = new PatientFixture("male", 50);
        load.Resources.Clear();
        load.Resources.AddRange(resources.Where(r => _patients.Contains((r is Patient p ? p.Id : PatientReference.SubjectKeyOf(r)) ?? "")));
        await load.LoadAsync(Ct);
        _server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task GivenPatientsOnTheFhirServer_WhenTheirViewIsOpened_ThenRisksFactorsAndSuggestionsAreTheModelsOutputForTheirRecords()
    {
        var panels = 0;
        foreach (var id in _patients)
        {
            var (status, html) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri)}&patient={id}");
            Assert.Equal(HttpStatusCode.OK, status);
            var at = DateTimeOffset.Parse(Attribute(html, "data-at"), CultureInfo.InvariantCulture);
            var (record, models, lease) = await RecordAsync(id);
            using (lease)
            {
                var features = models.Featurizer.Featurize(record, at);
                var predictions = models.Predictors.Values.OrderBy(p => p.Definition.Id, StringComparer.Ordinal)
                    .Select(p => p.Predict(record, at, features)).OfType<RiskPrediction>().ToList();

                // Those in an outcome's population to whom the answering equation gives no number: a panel saying why.
                foreach (var predictor in models.Predictors.Values.Where(p => p.NotEstimated(record, at) is not null))
                {
                    Assert.Contains($"data-outcome=\"{predictor.Definition.Id}\" data-not-estimated", html, StringComparison.Ordinal);
                }

                // One panel per estimate, with the model's number and its factors in the model's order and words.
                Assert.Equal(predictions.Select(p => p.Outcome), Panels(html).Select(p => p.Outcome));
                foreach (var prediction in predictions)
                {
                    var panel = Panels(html).Single(p => p.Outcome == prediction.Outcome);
                    Assert.Equal(prediction.Estimate, panel.Estimate);
                    Assert.Equal(prediction.Factors.Select(f => f.Text), panel.Factors);
                    // A model's factors are associations, and the page says so; an equation's are weighed against its reference.
                    Assert.Contains(prediction.ByReference ? "What the equation weighs most for this patient" : "not what changing it would do",
                        WebUtility.HtmlDecode(panel.Html), StringComparison.Ordinal);
                    Assert.Contains(prediction.ByReference
                        ? $"An estimate from the published equation {models.Predictors[prediction.Outcome].Reference!.Name}, not a diagnosis"
                        : $"An estimate from model {prediction.Outcome} {prediction.ModelVersion}, not a diagnosis", WebUtility.HtmlDecode(panel.Html), StringComparison.Ordinal);
                    Assert.Equal(prediction.Lacks, Regex.Matches(panel.Html, "<li>(.*?)</li>").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))
                        .Where(text => !prediction.Factors.Any(f => text.Contains(f.Text, StringComparison.Ordinal))));
                    Assert.Contains(prediction.Validation, WebUtility.HtmlDecode(panel.Html), StringComparison.Ordinal);
                    if (prediction.Outcome is "ascvd-10y" or "t2d-5y")
                    {
                        // As on the card: the equations alongside (PREVENT's total CVD and heart failure beside ASCVD,
                        // QDiabetes' 10-year figure beside the 5-year diabetes estimate), each a figure or why none.
                        Assert.Contains(prediction.Outcome == "t2d-5y" ? "QDiabetes-2018, 10-year type 2 diabetes" : "PREVENT (AHA 2024), 10-year heart failure",
                            WebUtility.HtmlDecode(panel.Html), StringComparison.Ordinal);
                    }
                    panels++;
                }

                var suggested = models.Recommender.Recommend(PatientSnapshot.From(record, at, features, models.Featurizer, predictions), 5);
                Assert.Equal(suggested.Recommendations.Select(r => r.Intervention.Id), Values(html, "data-suggestion"));
            }

            Assert.Contains("<html lang=\"en\">", html, StringComparison.Ordinal);
            Assert.Contains("trained on synthetic patients", html, StringComparison.Ordinal);
            Assert.DoesNotContain("Bands: Bands", html, StringComparison.Ordinal);
            Assert.All(Regex.Matches(html, "<svg [^>]*>").Select(m => m.Value), svg => Assert.Contains("role=\"img\" aria-label=\"", svg, StringComparison.Ordinal));
        }

        Assert.True(panels >= _patients.Count, $"only {panels} risk panels over {_patients.Count} patients");
    }

    [Fact]
    public async Task GivenWhatIfValues_WhenTheViewIsOpened_ThenEachOutcomeIsEstimatedAgainWithThemAsTodaysMeasurements()
    {
        var id = _patients[0];
        var (status, html) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri)}&patient={id}&sbp=118&ldl=70&smoking=stop");
        Assert.Equal(HttpStatusCode.OK, status);
        var at = DateTimeOffset.Parse(Attribute(html, "data-at"), CultureInfo.InvariantCulture);
        var (record, models, lease) = await RecordAsync(id);
        using (lease)
        {
            var changed = record.WithMeasurement("sbp", new Measurement(at, 118, false)).WithMeasurement("ldl", new Measurement(at, 70, false))
                .WithMeasurement("smoking_status", new Measurement(at, 1, false));
            var rows = Regex.Matches(html, "<tr data-outcome=\"([^\"]+)\" data-before=\"([^\"]+)\" data-after=\"([^\"]+)\"").ToList();

            Assert.NotEmpty(rows);
            foreach (var row in rows)
            {
                var predictor = models.Predictors[row.Groups[1].Value];
                Assert.Equal(predictor.Predict(record, at)!.Estimate, double.Parse(row.Groups[2].Value, CultureInfo.InvariantCulture));
                Assert.Equal(predictor.Predict(changed, at)!.Estimate, double.Parse(row.Groups[3].Value, CultureInfo.InvariantCulture));
            }

            // The new values were entered as today's: at least one estimate moved.
            Assert.Contains(rows, r => r.Groups[2].Value != r.Groups[3].Value);
        }

        Assert.Contains("systolic blood pressure 118, LDL cholesterol 70, stopped smoking", html, StringComparison.Ordinal);
        Assert.Contains("value=\"118\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAChildOnTheFhirServer_WhenTheirViewIsOpened_ThenThePageSaysSuggestionsAreForAdultsAndSuggestsNothing()
    {
        // Values on which an adult would be offered a statin, blood-pressure care and smoking cessation.
        var child = new PatientFixture("female", 11)
            .Lab("2089-1", 200, "mg/dL", 30).Lab("2093-3", 280, "mg/dL", 30).Lab("2085-9", 40, "mg/dL", 30)
            .BloodPressure(150, 95, 30).Smoker(30).Visit(30);
        await child.LoadAsync(Ct);

        var (status, html) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri)}&patient={child.Id}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(Values(html, "data-suggestion"));
        Assert.Contains("data-no-suggestions>HealthRec's suggestions follow adult guidelines (18 and over) and this patient is 11: none are made.</p>",
            WebUtility.HtmlDecode(html), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheEhrRefusesOneSearch_WhenTheViewIsOpened_ThenThePageSaysThatListWasNotReadAndWhy()
    {
        var patient = new PatientFixture("male", 58).Lab("4548-4", 6.2m, "%", 30).BloodPressure(150, 95, 30).Visit(30);
        await patient.LoadAsync(Ct);
        using var admin = new HttpClient();
        var refuse = new Uri(TestServices.FhirBaseUrl, $"/__admin/refuse?match={Uri.EscapeDataString($"/Condition?_count=100&patient={patient.Id}")}&status=403");
        (await admin.PostAsync(refuse, null, Ct)).EnsureSuccessStatusCode();
        try
        {
            var (status, html) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri)}&patient={patient.Id}");

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("1", Attribute(html, "data-unread"));
            Assert.Contains("<li>Condition: the FHIR server refused the Condition search with HTTP 403</li>", html, StringComparison.Ordinal);
        }
        finally
        {
            (await admin.PostAsync(new Uri(TestServices.FhirBaseUrl, $"/__admin/refuse?match={Uri.EscapeDataString($"/Condition?_count=100&patient={patient.Id}")}&status=0"), null, Ct)).EnsureSuccessStatusCode();
        }

        var (_, whole) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri)}&patient={patient.Id}");
        Assert.DoesNotContain("data-unread", whole, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenBadInputAnUnknownPatientOrAServerThatIsDown_WhenTheViewIsOpened_ThenAPageSaysWhatIsWrong()
    {
        var fhir = Uri.EscapeDataString(TestServices.FhirBaseUrl.AbsoluteUri);

        var (bad, badHtml) = await GetAsync($"/smart/preview?iss=ftp%3A%2F%2Fehr&patient=a%20b&sbp=400&hba1c=x&smoking=start");
        var (unknown, unknownHtml) = await GetAsync($"/smart/preview?iss={fhir}&patient=no-such-patient-{Guid.NewGuid():N}");
        var (down, downHtml) = await GetAsync($"/smart/preview?iss={Uri.EscapeDataString($"http://127.0.0.1:{HealthTests.FreeLoopbackPort()}/fhir")}&patient={_patients[0]}");

        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal(5, Regex.Count(badHtml, "<li>"));
        foreach (var named in new[] { "iss must", "patient must", "sbp must be a number from 60 to 260", "hba1c must", "smoking may only" })
        {
            Assert.Contains(named, WebUtility.HtmlDecode(badHtml), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Contains("No such patient", unknownHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, down);
        Assert.Contains("could not be read", downHtml, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string Html)> GetAsync(string path)
    {
        using var response = await _server.Client.GetAsync(new Uri(path, UriKind.Relative), Ct);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        // A page about a patient is never cached and sends no referrer; it runs nothing but itself.
        Assert.True(response.Headers.CacheControl?.NoStore, "the page may be cached");
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.StartsWith("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    // The record as the page read it, with the serving models.
    private async Task<(PatientRecord Record, ServingModels Models, ModelLease Lease)> RecordAsync(string id)
    {
        var record = await ReadRecordAsync(_server, id, Ct);
        var lease = _server.Services.GetRequiredService<ModelCatalog>().Lease();
        return (record, lease.Models, lease);
    }

    /// <summary>A patient's record as the app reads it: from the FHIR test server, through the server's own mapper.</summary>
    internal static async Task<PatientRecord> ReadRecordAsync(RunningServer server, string id, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var resources = await new FhirRestSource(http, TestServices.FhirBaseUrl, new FhirRestSourceOptions { PatientIds = [id] })
            .ReadAsync(new IngestionReport(), cancellationToken).SingleAsync(cancellationToken);
        return server.Services.GetRequiredService<FhirRecordMapper>().Map(resources, new IngestionReport())!;
    }

    private static string Attribute(string html, string name) => WebUtility.HtmlDecode(Regex.Match(html, $"{name}=\"([^\"]*)\"").Groups[1].Value);

    private static List<string> Values(string html, string name) =>
        [.. Regex.Matches(html, $"{name}=\"([^\"]*)\"").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    private static List<(string Outcome, double Estimate, List<string> Factors, string Html)> Panels(string html) =>
        [.. PanelPattern().Matches(html).Select(m => (m.Groups[1].Value, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            Values(m.Groups[3].Value, "data-factor"), m.Groups[3].Value))];

    [GeneratedRegex("<section class=\"panel\"[^>]*data-outcome=\"([^\"]+)\" data-estimate=\"([^\"]+)\">(.*?)</section>", RegexOptions.Singleline)]
    private static partial Regex PanelPattern();
}
