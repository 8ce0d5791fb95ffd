using System.Runtime.CompilerServices;
using HealthRec.Clinical.Ingestion;
using HealthRec.Clinical.Records;
using HealthRec.Fhir.Sources;

namespace HealthRec.Fhir.Ingestion;

/// <summary>Any source, through the one mapper, to patient records: the path training, scoring and hooks share.</summary>
public static class RecordReader
{
    public static async IAsyncEnumerable<PatientRecord> ReadAsync(IPatientSource source, FhirRecordMapper mapper, IngestionReport report,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var group in source.ReadAsync(report, cancellationToken))
        {
            if (mapper.Map(group, report) is { } record)
            {
                yield return record;
            }
        }
    }
}
