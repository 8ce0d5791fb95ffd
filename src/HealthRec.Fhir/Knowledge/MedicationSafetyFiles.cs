using System.Text.Json.Serialization;
using HealthRec.Clinical.Safety;
using Json.Schema;

namespace HealthRec.Fhir.Knowledge;

/// <summary>
/// Reads the medication-safety knowledge base (<c>data/knowledge/medication-safety.json</c>): first against its JSON
/// Schema (<c>medication-safety.schema.json</c> beside it), then every name in it against the terminology — each
/// medication class, RxNorm ingredient and condition group must be one HealthRec knows, each evidence id must be
/// defined, each rule id unique. Every problem is reported at once in a <see cref="CatalogException"/>, naming the rule.
/// </summary>
public static class MedicationSafetyFiles
{
    public const string DefaultFile = "data/knowledge/medication-safety.json";
    public const string SchemaFileName = "medication-safety.schema.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static MedicationKnowledge Load(string file, ClinicalTerminology terminology)
    {
        var schema = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, SchemaFileName);
        if (!File.Exists(file))
        {
            throw new CatalogException($"Medication-safety knowledge base '{file}' is missing.");
        }

        if (!File.Exists(schema))
        {
            throw new CatalogException($"Medication-safety knowledge base: its schema '{schema}' is missing.");
        }

        return Parse(File.ReadAllText(file), File.ReadAllText(schema), Path.GetFileName(file), terminology);
    }

    public static MedicationKnowledge Parse(string json, string schemaJson, string source, ClinicalTerminology terminology)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new CatalogException($"{source}: not JSON: {ex.Message}");
        }

        using (document)
        {
            var problems = SchemaProblems(document.RootElement, schemaJson);
            if (problems.Count > 0)
            {
                throw new CatalogException($"{source}: {problems.Count} problem(s) against {SchemaFileName}: {string.Join("; ", problems)}");
            }

            var file = document.RootElement.Deserialize<KnowledgeFile>(Json)!;
            var knowledge = Build(file, terminology, problems);
            return problems.Count == 0 ? knowledge : throw new CatalogException($"{source}: {problems.Count} problem(s): {string.Join("; ", problems)}");
        }
    }

    private static List<string> SchemaProblems(JsonElement root, string schemaJson)
    {
        // A registry of its own: the global one would refuse the same $id the second time (tests load the file often).
        var schema = JsonSchema.FromText(schemaJson, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        var results = schema.Evaluate(root, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }

        // Failed "if" branches and the alternatives of an anyOf are not problems in themselves; their parent says what is.
        return [.. (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 } && !d.EvaluationPath.ToString().Contains("/if", StringComparison.Ordinal)
                && !d.EvaluationPath.ToString().Contains("/anyOf/", StringComparison.Ordinal))
            .SelectMany(d => d.Errors!.Select(e => $"at '{d.InstanceLocation}': {e.Value}"))
            .Distinct(StringComparer.Ordinal)];
    }

    private static MedicationKnowledge Build(KnowledgeFile file, ClinicalTerminology terminology, List<string> problems)
    {
        var evidence = file.Evidence.ToImmutableDictionary(
            e => e.Key, e => new EvidenceSource(e.Key, e.Value.Title, e.Value.Citation, e.Value.Url, e.Value.Year), StringComparer.Ordinal);

        ImmutableArray<EvidenceSource> Cited(string where, IEnumerable<string> ids) =>
            [.. ids.Select(id => evidence.TryGetValue(id, out var source) ? source : Problem<EvidenceSource>(where, $"cites unknown evidence '{id}'")).OfType<EvidenceSource>()];

        T? Problem<T>(string where, string text)
            where T : class
        {
            problems.Add($"{where}: {text}");
            return null;
        }

        void Class(string where, string name)
        {
            if (!terminology.MedicationClasses.Contains(name))
            {
                problems.Add($"{where}: unknown medication class '{name}'");
            }
        }

        void Ingredient(string where, string rxcui)
        {
            if (terminology.IngredientName(rxcui) is null)
            {
                problems.Add($"{where}: RxNorm ingredient {rxcui} is not in the terminology's medication classes");
            }
        }

        DrugSelector Drugs(string where, DrugsFile drugs)
        {
            foreach (var name in drugs.Classes ?? [])
            {
                Class(where, name);
            }

            foreach (var rxcui in drugs.Ingredients ?? [])
            {
                Ingredient(where, rxcui);
            }

            return new DrugSelector([.. drugs.Classes ?? []], [.. drugs.Ingredients ?? []]);
        }

        var rules = ImmutableArray.CreateBuilder<SafetyRule>();
        foreach (var rule in file.Rules)
        {
            var where = $"rule {rule.Id}";
            if (rule.Condition is { } group && !terminology.ConditionGroups.Contains(group))
            {
                problems.Add($"{where}: unknown condition group '{group}'");
            }

            var limits = rule.Kind == SafetyRuleKind.Potassium ? (Low: 1.0, High: 12.0) : (Low: 1.0, High: 200.0);
            foreach (var bound in new[] { rule.Threshold?.Below, rule.Threshold?.AtOrBelow, rule.Threshold?.AtLeast, rule.Threshold?.Above }.OfType<double>())
            {
                if (bound < limits.Low || bound > limits.High)
                {
                    problems.Add($"{where}: threshold {bound} is outside the plausible range {limits.Low}–{limits.High}");
                }
            }

            rules.Add(new SafetyRule
            {
                Id = rule.Id,
                Kind = rule.Kind,
                Drugs = Drugs(where, rule.Drugs),
                Severity = rule.Severity,
                Text = rule.Text,
                Evidence = Cited(where, rule.Evidence),
                Measure = rule.Measure ?? KidneyMeasure.Egfr,
                Threshold = rule.Threshold is { } t ? new Threshold(t.Below, t.AtOrBelow, t.AtLeast, t.Above) : null,
                MaxAgeDays = rule.MaxAgeDays ?? 0,
                Condition = rule.Condition,
                With = [.. (rule.With ?? []).Select(w => Drugs(where, w))],
            });
        }

        foreach (var duplicate in file.Rules.GroupBy(r => r.Id, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"rule {duplicate.Key}: defined {duplicate.Count()} times");
        }

        foreach (var name in file.Duplicates.Classes)
        {
            Class("duplicates", name);
        }

        var allergyClasses = file.Allergy.Classes.Select(c =>
        {
            Class($"allergy class {c.Class}", c.Class);
            return new AllergyClass(c.Class, c.Title, [.. c.Synonyms.Select(s => s.ToLowerInvariant())], Cited($"allergy class {c.Class}", c.Evidence));
        }).ToImmutableArray();
        var cross = file.Allergy.CrossReactions.Select(x =>
        {
            var where = $"cross-reaction {x.AllergyClass} → {x.DrugClass}";
            Class(where, x.AllergyClass);
            Class(where, x.DrugClass);
            return new CrossReaction(x.AllergyClass, x.DrugClass, x.Severity, x.Text, Cited(where, x.Evidence));
        }).ToImmutableArray();
        var allergens = file.Allergy.Allergens.Select(a =>
        {
            var where = $"allergen {a.System}|{a.Code}";
            foreach (var name in a.Classes ?? [])
            {
                Class(where, name);
            }

            foreach (var rxcui in a.Ingredients ?? [])
            {
                Ingredient(where, rxcui);
            }

            var noneKnown = a.NoneKnown ?? false;
            var medication = !noneKnown && (a.Medication ?? true);
            if (noneKnown && (a.Medication is not null || (a.Classes ?? []).Count + (a.Ingredients ?? []).Count > 0))
            {
                problems.Add($"{where}: a code that records no known allergy names no classes, ingredients or medication");
            }
            else if (medication && (a.Classes ?? []).Count + (a.Ingredients ?? []).Count == 0)
            {
                problems.Add($"{where}: a medicine allergen must name its classes or ingredients (or say medication: false)");
            }

            return new Allergen(a.System, a.Code, a.Display, [.. a.Classes ?? []], [.. a.Ingredients ?? []], medication) { NoneKnown = noneKnown };
        }).ToImmutableArray();

        return new MedicationKnowledge(file.Version, rules.ToImmutable(), [.. file.Duplicates.Classes], Cited("duplicates", file.Duplicates.Evidence),
            allergyClasses, cross, allergens, Cited("allergy", file.Allergy.Evidence));
    }

    private sealed record KnowledgeFile(string Id, string Version, Dictionary<string, EvidenceFile> Evidence, List<RuleFile> Rules, DuplicatesFile Duplicates, AllergyFile Allergy);

    private sealed record EvidenceFile(string Title, string Citation, string Url, int Year);

    private sealed record DrugsFile(List<string>? Classes, List<string>? Ingredients);

    private sealed record ThresholdFile(double? Below, double? AtOrBelow, double? AtLeast, double? Above);

    private sealed record RuleFile(string Id, SafetyRuleKind Kind, DrugsFile Drugs, Severity Severity, string Text, List<string> Evidence,
        KidneyMeasure? Measure, ThresholdFile? Threshold, int? MaxAgeDays, string? Condition, List<DrugsFile>? With);

    private sealed record DuplicatesFile(List<string> Classes, List<string> Evidence);

    private sealed record AllergyClassFile(string Class, string Title, List<string> Synonyms, List<string> Evidence);

    private sealed record CrossReactionFile(string AllergyClass, string DrugClass, Severity Severity, string Text, List<string> Evidence);

    private sealed record AllergenFile(string System, string Code, string Display, List<string>? Classes, List<string>? Ingredients, bool? Medication, bool? NoneKnown);

    private sealed record AllergyFile(List<string> Evidence, List<AllergyClassFile> Classes, List<CrossReactionFile> CrossReactions, List<AllergenFile> Allergens);
}
