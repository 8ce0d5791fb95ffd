using HealthRec.Clinical.Features;
using HealthRec.Clinical.Terminology;
using HealthRec.Fhir.Ingestion;
using HealthRec.Testing;

namespace HealthRec.ML.Tests;

/// <summary>The repository's terminology, feature schema and outcome definitions, loaded once.</summary>
internal static class Repo
{
    private static readonly Lazy<ClinicalTerminology> LazyTerminology =
        new(() => TerminologyFiles.Load(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultFolder)));

    public static ClinicalTerminology Terminology => LazyTerminology.Value;

    public static Featurizer Featurizer() => TerminologyFiles.LoadFeaturizer(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultSchema), Terminology);

    public static string Path_(string relative) => Path.Combine(TestServices.RepositoryRoot, relative);
}
