using HealthRec.Clinical.Features;

namespace HealthRec.Fhir.Tests;

/// <summary>The repository's own terminology and feature schema, loaded once for the tests.</summary>
internal static class Ingestion
{
    private static readonly Lazy<ClinicalTerminology> LazyTerminology =
        new(() => TerminologyFiles.Load(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultFolder)));

    private static readonly Lazy<Featurizer> LazyFeaturizer =
        new(() => TerminologyFiles.LoadFeaturizer(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultSchema), Terminology));

    public static ClinicalTerminology Terminology => LazyTerminology.Value;

    public static Featurizer Featurizer => LazyFeaturizer.Value;

    public static FhirRecordMapper Mapper() => new(Terminology, new UnitNormalizer());

    public static TimeSpan FhirRecordMapperCover => FhirRecordMapper.RequestWithoutEndCovers;

    public static string SyntheaFolder => Path.Combine(TestServices.SharedFolder, "data", "synthea");

    public static async Task<List<PatientRecord>> ReadAllAsync(IPatientSource source, IngestionReport report)
    {
        var records = new List<PatientRecord>();
        await foreach (var record in RecordReader.ReadAsync(source, Mapper(), report, TestContext.Current.CancellationToken))
        {
            records.Add(record);
        }

        return records;
    }
}
