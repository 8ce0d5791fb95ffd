using HealthRec.Clinical.Features;
using HealthRec.Clinical.Terminology;

namespace HealthRec.Fhir.Ingestion;

/// <summary>Reads the terminology documents and the feature schema from disk (the Clinical project does no I/O).</summary>
public static class TerminologyFiles
{
    public const string DefaultFolder = "data/terminology";
    public const string DefaultSchema = "models/feature-schema.json";

    public static ClinicalTerminology Load(string folder)
    {
        string Read(string name)
        {
            var file = Path.Combine(folder, name);
            return File.Exists(file)
                ? File.ReadAllText(file)
                : throw new TerminologyException($"Terminology file '{file}' is missing.");
        }

        return ClinicalTerminology.Parse(new TerminologyDocuments(
            Read("conditions.json"), Read("medications.json"), Read("analytes.json"), Read("statin-intensity.json")));
    }

    public static Featurizer LoadFeaturizer(string schemaFile, ClinicalTerminology terminology) =>
        File.Exists(schemaFile)
            ? Featurizer.Compile(FeatureSchema.Parse(File.ReadAllText(schemaFile)), terminology)
            : throw new TerminologyException($"Feature schema '{schemaFile}' is missing.");
}
