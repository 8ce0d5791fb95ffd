using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace HealthRec.Server.Tests;

/// <summary>Offline validation against the core R4 definitions, HealthRec's own profiles in <c>fhir-profiles/</c> and the HL7 AI Transparency profiles in <c>fhir-profiles/ai-transparency/</c> (snapshots generated).</summary>
internal static class ProfileValidation
{
    public static readonly Lazy<Validator> Validator = new(() =>
    {
        var profiles = new DirectorySource(Path.Combine(TestServices.RepositoryRoot, "fhir-profiles"), new DirectorySourceSettings { IncludeSubDirectories = true });
        var resolver = new CachedResolver(new SnapshotSource(new MultiResolver(profiles, ZipSource.CreateValidationSource())));
        return new Validator(resolver, new LocalTerminologyService(resolver));
    });

    /// <summary>Every audit record is an AuditEvent or GuidanceResponse valid against its HealthRec profile, with zero errors.</summary>
    public static void AssertAuditRecordsValid(IEnumerable<Data.AuditRecord> records)
    {
        var validator = Validator.Value;
        var seen = 0;
        foreach (var record in records)
        {
            var resource = System.Text.Json.JsonSerializer.Deserialize<Hl7.Fhir.Model.Resource>(record.ResourceJson, Fhir.FhirJson.Options)!;
            var profile = resource switch
            {
                Hl7.Fhir.Model.AuditEvent => Audit.AuditCodes.AuditEventProfile,
                Hl7.Fhir.Model.GuidanceResponse => Audit.AuditCodes.GuidanceResponseProfile,
                _ => throw new Xunit.Sdk.XunitException($"audit record {record.Seq} is a {resource.TypeName}"),
            };
            var outcome = validator.Validate(resource, profile);
            Assert.True(outcome.Errors == 0 && outcome.Fatals == 0, $"audit record {record.Seq} ({resource.TypeName}): {outcome}\n{record.ResourceJson}");
            seen++;
        }

        Assert.True(seen > 0, "no audit records to validate");
    }
}
