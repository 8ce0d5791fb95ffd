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
        Assert.True(report.TotalProblems == 0, string.Join("\n", report.AllExamples.Select(p => $"{p.Kind} {p.Where}: {p.Message}")));
        // Synthea writes three eGFR results in mL/min (not indexed to body surface): read under the stated equivalence,
        // marked in the record and counted, not guessed and not dropped.
        Assert.Equal(3, report.Count(IngestionReport.EgfrEquivalence));
        var equivalent = records.SelectMany(r => r.MeasurementsOf("egfr")).Where(m => m.Basis == ValueBasis.UnitEquivalence).ToList();
        Assert.Equal(3, equivalent.Count);
        // Creatinine without an eGFR that day gets one computed, each counted; so does every record's allergy list.
        Assert.Equal(report.Count(IngestionReport.EgfrComputed), records.SelectMany(r => r.MeasurementsOf("egfr")).Count(m => m.Basis == ValueBasis.Computed));
        Assert.Equal(21, records.Sum(r => r.Allergies.Length));
        Assert.All(records.SelectMany(r => r.Allergies), a => Assert.Equal(["food"], a.Categories));
        Assert.Equal(20, report.ResourcesByType["Patient"]);
        Assert.Equal(2952, report.ResourcesByType["Observation"]);
    }
}
