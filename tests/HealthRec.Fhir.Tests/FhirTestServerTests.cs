using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Fhir.Tests;

/// <summary>
/// The FHIR test server is a real FHIR engine: the Firely SDK's own client must be able to write a
/// transaction, read it back and page through a search, exactly as HealthRec will against an EHR.
/// </summary>
public sealed class FhirTestServerTests
{
    /// <summary>A Firely client for the FHIR test server (the server does not declare a FHIR version in /metadata).</summary>
    internal static FhirClient CreateClient() => new(TestServices.FhirBaseUrl, new FhirClientSettings
    {
        PreferredFormat = ResourceFormat.Json,
        VerifyFhirVersion = false,
        Timeout = 30_000,
    });

    [Fact]
    public async Task GivenTransactionWithPatientAnd45Observations_WhenPagedWithCount20_ThenNextLinksYieldEveryObservationOnce()
    {
        using var client = CreateClient();
        var marker = Guid.NewGuid().ToString("N");
        var transaction = PatientWithObservations(marker, observationCount: 45);

        var response = await client.TransactionAsync(transaction, ct: Ct);

        Assert.NotNull(response);
        Assert.Equal(46, response.Entry.Count);
        Assert.All(response.Entry, entry => Assert.StartsWith("201", entry.Response!.Status, StringComparison.Ordinal));
        var patientId = response.Entry[0].Resource!.Id;

        var patient = await client.ReadAsync<Patient>($"Patient/{patientId}", ct: Ct);
        Assert.NotNull(patient);
        Assert.Equal(marker, patient!.Identifier.Single().Value);
        Assert.Equal("1961-04-12", patient.BirthDate);

        var page = await client.SearchAsync<Observation>([$"patient=Patient/{patientId}"], pageSize: 20, ct: Ct);
        var pageSizes = new List<int>();
        var values = new List<decimal>();
        while (page is not null)
        {
            var observations = page.Entry.Select(entry => Assert.IsType<Observation>(entry.Resource)).ToList();
            pageSizes.Add(observations.Count);
            values.AddRange(observations.Select(observation => Assert.IsType<Quantity>(observation.Value).Value!.Value));
            Assert.All(observations, observation => Assert.Equal($"Patient/{patientId}", observation.Subject!.Reference));
            page = await client.ContinueAsync(page, ct: Ct);
        }

        Assert.Equal([20, 20, 5], pageSizes);
        Assert.Equal(Enumerable.Range(0, 45).Select(i => 5.0m + (i / 10m)), values.Order());
    }

    [Fact]
    public async Task GivenSyntheaTransactionBundle_WhenPosted_ThenItsPatientAndRecordCanBeReadBack()
    {
        var file = Directory.EnumerateFiles(Path.Combine(TestServices.SharedFolder, "data", "synthea"), "*.json")
            .OrderBy(path => new FileInfo(path).Length)
            .First();
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await File.ReadAllTextAsync(file, Ct));
        var expectedPatient = bundle.Entry.Select(e => e.Resource).OfType<Patient>().First();
        var expectedObservations = bundle.Entry.Count(e => e.Resource is Observation);
        using var client = CreateClient();

        var response = await client.TransactionAsync(bundle, ct: Ct);

        var location = response!.Entry.Select(e => e.Response!.Location!).First(l => l.StartsWith("Patient/", StringComparison.Ordinal));
        var patient = await client.ReadAsync<Patient>(location, ct: Ct);
        Assert.Equal(expectedPatient.BirthDate, patient!.BirthDate);
        Assert.Equal(expectedPatient.Name[0].Family, patient.Name[0].Family);

        var observations = 0;
        var page = await client.SearchAsync<Observation>([$"patient={location}"], pageSize: 100, ct: Ct);
        while (page is not null)
        {
            observations += page.Entry.Count;
            page = await client.ContinueAsync(page, ct: Ct);
        }

        Assert.Equal(expectedObservations, observations);
    }

    private static Bundle PatientWithObservations(string marker, int observationCount)
    {
        var patientUrl = $"urn:uuid:{Guid.NewGuid()}";
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = patientUrl,
            Resource = new Patient
            {
                Identifier = [new Identifier("urn:healthrec:test", marker)],
                BirthDate = "1961-04-12",
                Gender = AdministrativeGender.Female,
                Meta = new Meta { Tag = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST", "test health data")] },
            },
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Patient" },
        });
        for (var i = 0; i < observationCount; i++)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                Resource = new Observation
                {
                    Status = ObservationStatus.Final,
                    Code = new CodeableConcept("http://loinc.org", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
                    Subject = new ResourceReference(patientUrl),
                    Effective = new FhirDateTime(new DateTimeOffset(2020, 1, 1, 9, 0, 0, TimeSpan.Zero).AddDays(30 * i)),
                    Value = new Quantity(5.0m + (i / 10m), "%", "http://unitsofmeasure.org"),
                },
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Observation" },
            });
        }

        return bundle;
    }
}
