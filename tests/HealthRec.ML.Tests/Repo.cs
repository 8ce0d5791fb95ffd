using HealthRec.Clinical.Features;
using HealthRec.Clinical.Terminology;

namespace HealthRec.ML.Tests;

/// <summary>The repository's terminology, feature schema and outcome definitions, loaded once.</summary>
internal static class Repo
{
    private static readonly Lazy<ClinicalTerminology> LazyTerminology =
        new(() => TerminologyFiles.Load(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultFolder)));

    public static ClinicalTerminology Terminology => LazyTerminology.Value;

    private static readonly Lazy<Clinical.Safety.MedicationKnowledge> LazyKnowledge =
        new(() => Fhir.Knowledge.MedicationSafetyFiles.Load(Path.Combine(TestServices.RepositoryRoot, Fhir.Knowledge.MedicationSafetyFiles.DefaultFile), Terminology));

    /// <summary>The committed medication-safety knowledge base.</summary>
    public static Clinical.Safety.MedicationKnowledge Knowledge => LazyKnowledge.Value;

    public static Clinical.Safety.MedicationSafety Safety() => new(Knowledge, Terminology);

    public static Featurizer Featurizer() => TerminologyFiles.LoadFeaturizer(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultSchema), Terminology);

    public static string Path_(string relative) => Path.Combine(TestServices.RepositoryRoot, relative);
}
