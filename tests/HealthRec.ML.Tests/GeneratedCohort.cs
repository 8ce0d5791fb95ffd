using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Units;
using HealthRec.Fhir.Sources;
using HealthRec.Fhir.Synthetic;

namespace HealthRec.ML.Tests;

/// <summary>A generated cohort (6,000 patients followed 13 years, seed 42), read through the real ingestion path.</summary>
public class GeneratedCohort : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("healthrec-train-");

    public List<PatientRecord> Records { get; } = [];

    public virtual async ValueTask InitializeAsync()
    {
        var data = Path.Combine(_folder.FullName, "cohort");
        await new CohortGenerator(new CohortOptions { Patients = 10000, Seed = 42, Years = 13 }).WriteAsync(data, SyntheticFormat.Ndjson, null, "test", default);
        var mapper = new FhirRecordMapper(Repo.Terminology, new UnitNormalizer());
        await foreach (var record in RecordReader.ReadAsync(new NdjsonSource(data), mapper, new IngestionReport(), default))
        {
            Records.Add(record);
        }

        Directory.Delete(data, recursive: true);
    }

    public virtual ValueTask DisposeAsync()
    {
        _folder.Delete(recursive: true);
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
