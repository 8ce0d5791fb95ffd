namespace HealthRec.ML.Outcomes;

/// <summary>Reads outcome definitions from disk (the Clinical project does no I/O).</summary>
public static class OutcomeFiles
{
    public const string DefaultFolder = "models/outcomes";

    /// <summary>Every outcome definition (<c>*.json</c>) in a folder, or one file; ids must be unique.</summary>
    public static ImmutableArray<OutcomeDefinition> Load(string fileOrFolder, ClinicalTerminology terminology)
    {
        var files = File.Exists(fileOrFolder) ? [fileOrFolder]
            : Directory.Exists(fileOrFolder) ? Directory.GetFiles(fileOrFolder, "*.json").Order(StringComparer.Ordinal).ToArray()
            : throw new OutcomeDefinitionException($"No outcome definitions at '{fileOrFolder}'.");
        var definitions = files.Select(f => OutcomeDefinition.Parse(File.ReadAllText(f), Path.GetFileName(f), terminology)).ToImmutableArray();
        if (definitions.IsEmpty)
        {
            throw new OutcomeDefinitionException($"No outcome definitions (*.json) in '{fileOrFolder}'.");
        }

        var duplicate = definitions.GroupBy(d => d.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? definitions : throw new OutcomeDefinitionException($"Outcome id '{duplicate.Key}' is defined twice in '{fileOrFolder}'.");
    }

    /// <summary>
    /// The definition <c>&lt;id&gt;.json</c> in <paramref name="folder"/>, or null when there is no such file: what a
    /// bundle trained before its definition named a reference (or equations alongside) takes them from.
    /// </summary>
    public static OutcomeDefinition? DefinitionOf(string folder, string outcome, ClinicalTerminology terminology)
    {
        var file = Path.Combine(folder, outcome + ".json");
        return File.Exists(file) ? OutcomeDefinition.Parse(File.ReadAllText(file), file, terminology) : null;
    }
}
