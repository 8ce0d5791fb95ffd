using HealthRec.Clinical.Features;

namespace HealthRec.Fhir.Ingestion;

/// <summary>Reads the terminology documents and the feature schema from disk (the Clinical project does no I/O).</summary>
public static class TerminologyFiles
{
    public const string DefaultFolder = "data/terminology";
    public const string DefaultSchema = "models/feature-schema.json";

    /// <summary>
    /// Where the shipped terminology is: <see cref="DefaultFolder"/> under the working directory (the repository root,
    /// where the CLI and the server run), else under the nearest folder above the program that has one.
    /// </summary>
    public static string ShippedFolder
    {
        get
        {
            if (File.Exists(Path.Combine(DefaultFolder, "conditions.json")))
            {
                return DefaultFolder;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, DefaultFolder);
                if (File.Exists(Path.Combine(candidate, "conditions.json")))
                {
                    return candidate;
                }
            }

            return DefaultFolder;
        }
    }

    /// <summary>The documents every terminology has; a site's folder that lacks one reads it from <see cref="ShippedFolder"/>.</summary>
    public static readonly IReadOnlyList<string> CoreFiles = ["conditions.json", "medications.json", "analytes.json", "statin-intensity.json"];

    /// <summary>
    /// Reads a terminology folder: its core files (each taken from <see cref="ShippedFolder"/> when the folder lacks it,
    /// so a site's folder may hold only its own definitions) and every other <c>*.json</c> in it, in name order, as a
    /// site's ValueSets or analytes.
    /// </summary>
    public static ClinicalTerminology Load(string folder)
    {
        if (!Directory.Exists(folder) && folder == DefaultFolder)
        {
            folder = ShippedFolder; // the default, from a working directory other than the repository root
        }

        if (!Directory.Exists(folder))
        {
            throw new TerminologyException($"Terminology folder '{folder}' does not exist.");
        }

        string Read(string name)
        {
            var file = Path.Combine(folder, name);
            var fallback = Path.Combine(ShippedFolder, name);
            return File.Exists(file) ? File.ReadAllText(file)
                : File.Exists(fallback) ? File.ReadAllText(fallback)
                : throw new TerminologyException($"Terminology file '{file}' is missing (and '{Path.GetFullPath(fallback)}' too).");
        }

        var others = Directory.EnumerateFiles(folder, "*.json")
            .Where(f => !CoreFiles.Contains(Path.GetFileName(f), StringComparer.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => new TerminologyDocument(Path.GetFileName(f), File.ReadAllText(f)))
            .ToImmutableArray();
        return ClinicalTerminology.Parse(new TerminologyDocuments(
            Read("conditions.json"), Read("medications.json"), Read("analytes.json"), Read("statin-intensity.json")) { Others = others });
    }

    public static Featurizer LoadFeaturizer(string schemaFile, ClinicalTerminology terminology) =>
        File.Exists(schemaFile)
            ? Featurizer.Compile(FeatureSchema.Parse(File.ReadAllText(schemaFile)), terminology)
            : throw new TerminologyException($"Feature schema '{schemaFile}' is missing.");
}
