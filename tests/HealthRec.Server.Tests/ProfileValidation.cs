using Firely.Fhir.Validation;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using HealthRec.Testing;

namespace HealthRec.Server.Tests;

/// <summary>Offline validation against the core R4 definitions and HealthRec's own profiles in <c>fhir-profiles/</c> (snapshots generated).</summary>
internal static class ProfileValidation
{
    public static readonly Lazy<Validator> Validator = new(() =>
    {
        var profiles = new DirectorySource(Path.Combine(TestServices.RepositoryRoot, "fhir-profiles"), new DirectorySourceSettings { IncludeSubDirectories = false });
        var resolver = new CachedResolver(new SnapshotSource(new MultiResolver(profiles, ZipSource.CreateValidationSource())));
        return new Validator(resolver, new LocalTerminologyService(resolver));
    });
}
