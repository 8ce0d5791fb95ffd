using HealthRec.Clinical.Ingestion;
using HealthRec.Fhir.Sources;

namespace HealthRec.Fhir.Tests;

public sealed class SyntheaMappingTests
{
    [Fact]
    public async Task GivenTheSharedSyntheaBundles_WhenMapped_ThenEveryPatientMapsAndOnlyKnownDataProblemsAreReported()
    {
        var report = new IngestionReport();

        var records = await Ingestion.ReadAllAsync(new BundleSource(Ingestion.SyntheaFolder), report);

        Assert.Equal(20, records.Count);
        Assert.Equal(20, report.Patients);
        var unexpected = report.ProblemsByKind.Where(kv => kv.Key != ProblemKind.UnconvertibleUnit).ToList();
        Assert.True(unexpected.Count == 0, string.Join("\n", report.AllExamples.Select(p => $"{p.Kind} {p.Where}: {p.Message}")));
        // Synthea writes three eGFR results in mL/min (not normalized to body surface): reported, never guessed.
        Assert.Equal(3, report.Count(ProblemKind.UnconvertibleUnit));
        Assert.All(report.Examples(ProblemKind.UnconvertibleUnit), p => Assert.Contains("'mL/min'", p.Message, StringComparison.Ordinal));
        Assert.Equal(20, report.ResourcesByType["Patient"]);
        Assert.Equal(2952, report.ResourcesByType["Observation"]);
    }
}
