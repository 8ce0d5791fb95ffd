using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Sources;

/// <summary>
/// Bundle JSON files (transaction, collection, searchset; e.g. Synthea output): a file or every <c>*.json</c> in a
/// folder. Each file is read on its own, so memory holds one file at a time; a patient's resources are expected in
/// one file, as Synthea and searchset exports write them.
/// </summary>
public sealed class BundleSource(string path, FhirParsing parsing = FhirParsing.Fast) : IPatientSource
{
    public async IAsyncEnumerable<PatientResources> ReadAsync(IngestionReport report, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var files = File.Exists(path) ? [path] : Directory.EnumerateFiles(path, "*.json").Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            if (FhirJson.TryParseBundle(await File.ReadAllBytesAsync(file, cancellationToken), name, report, parsing) is not { } bundle)
            {
                continue;
            }

            foreach (var group in Group(bundle, name, report))
            {
                yield return group;
            }
        }
    }

    /// <summary>A Bundle's entries grouped by patient; <c>urn:uuid</c> full URLs of Patients resolve to their ids.</summary>
    internal static IEnumerable<PatientResources> Group(Bundle bundle, string origin, IngestionReport report)
    {
        var grouping = new PatientGrouping(report);
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            var where = $"{origin} entry {i}";
            if (entry.Resource is null)
            {
                report.Problem(ProblemKind.EntryWithoutResource, where, "Bundle entry has no resource");
                continue;
            }

            if (entry.Resource is Patient patient)
            {
                patient.Id ??= PatientReference.KeyOf(entry.FullUrl);
                if (PatientReference.KeyOf(entry.FullUrl) is { } alias && patient.Id is not null)
                {
                    grouping.Alias(alias, patient.Id);
                }
            }

            grouping.Add(entry.Resource, where);
        }

        return grouping.Drain(origin);
    }
}
