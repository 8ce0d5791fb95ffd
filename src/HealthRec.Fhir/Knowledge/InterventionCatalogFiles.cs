using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Knowledge;

/// <summary>A catalog that cannot be used: every problem, each naming its item.</summary>
public sealed class CatalogException(string message) : Exception(message)
{
    /// <summary>Features the catalog's rules name that the feature schema lacks.</summary>
    public ImmutableArray<string> UnknownFeatures { get; init; } = [];

    /// <summary>Outcomes the catalog's items address that the outcome definitions lack.</summary>
    public ImmutableArray<string> UnknownOutcomes { get; init; } = [];

    /// <summary>
    /// The catalog is written against other features or outcomes than these (a site's own schema and outcomes with the
    /// shipped catalog): it cannot be evaluated here, which is not an error in it.
    /// </summary>
    public bool WrittenForOtherInputs => !UnknownFeatures.IsEmpty || !UnknownOutcomes.IsEmpty;

    /// <summary>What this schema and these outcomes lack, in a line: <c>features age_years, sbp_last; outcomes t2d-5y</c>.</summary>
    public string Lacking => string.Join("; ",
        new[] { ("features", UnknownFeatures), ("outcomes", UnknownOutcomes) }.Where(p => !p.Item2.IsEmpty).Select(p => $"{p.Item1} {string.Join(", ", p.Item2)}"));
}

/// <summary>
/// Reads the intervention catalog: a FHIR Bundle of <c>ActivityDefinition</c>s (<c>data/knowledge/interventions.json</c>)
/// whose HealthRec extensions carry the rules (indication, contraindications, cautions as <c>text/x-healthrec-rule</c>
/// expressions), the class, the outcomes addressed and the stated effects, and whose <c>relatedArtifact</c>s carry the
/// evidence. Validated as a whole at start-up: unknown code systems or codes outside the terminology, rules naming
/// unknown features, groups or classes, unknown outcomes, and missing evidence are all reported at once.
/// </summary>
public static class InterventionCatalogFiles
{
    public const string DefaultFile = "data/knowledge/interventions.json";
    public const string ExtensionBase = "https://healthrec.example.org/fhir/StructureDefinition/";
    public const string RuleLanguage = "text/x-healthrec-rule";

    public static InterventionCatalog Load(string file, ClinicalTerminology terminology, RuleVocabulary vocabulary, IReadOnlySet<string> outcomes) =>
        File.Exists(file)
            ? Parse(File.ReadAllText(file), Path.GetFileName(file), terminology, vocabulary, outcomes)
            : throw new CatalogException($"Intervention catalog '{file}' is missing.");

    public static InterventionCatalog Parse(string json, string source, ClinicalTerminology terminology, RuleVocabulary vocabulary, IReadOnlySet<string> outcomes)
    {
        Bundle bundle;
        try
        {
            bundle = JsonSerializer.Deserialize<Bundle>(json, FhirJson.Options) ?? throw new CatalogException($"{source}: JSON null.");
        }
        catch (Exception ex) when (ex is JsonException or Hl7.Fhir.Serialization.DeserializationFailedException)
        {
            throw new CatalogException($"{source}: not a valid FHIR Bundle: {ex.Message}");
        }

        var problems = new List<string>();
        var unknown = new Unknown(new SortedSet<string>(StringComparer.Ordinal), new SortedSet<string>(StringComparer.Ordinal));
        var items = ImmutableArray.CreateBuilder<Intervention>();
        foreach (var definition in bundle.Entry.Select(e => e.Resource).OfType<ActivityDefinition>())
        {
            var name = definition.Id ?? definition.Name ?? "(no id)";
            var before = problems.Count;
            var item = Read(definition, name, terminology, vocabulary, outcomes, problems, unknown);
            if (item is not null && problems.Count == before)
            {
                items.Add(item);
            }
        }

        if (items.Count + problems.Count == 0)
        {
            problems.Add("the Bundle holds no ActivityDefinition");
        }

        foreach (var duplicate in items.GroupBy(i => i.Id, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{duplicate.Key}: defined {duplicate.Count()} times");
        }

        // An item without its own date was revised when the catalog was (the Bundle's timestamp).
        return problems.Count == 0
            ? new InterventionCatalog([.. items.Select(i => i.Revised is null && bundle.Timestamp is { } at ? i with { Revised = at } : i)])
            : throw new CatalogException($"{source}: {problems.Count} problem(s): {string.Join("; ", problems)}")
            {
                UnknownFeatures = [.. unknown.Features], UnknownOutcomes = [.. unknown.Outcomes],
            };
    }

    /// <summary>The features and outcomes the catalog names that this schema and these definitions lack.</summary>
    private sealed record Unknown(SortedSet<string> Features, SortedSet<string> Outcomes);

    private static Intervention? Read(ActivityDefinition d, string name, ClinicalTerminology terminology, RuleVocabulary vocabulary,
        IReadOnlySet<string> outcomes, List<string> problems, Unknown unknown)
    {
        void Problem(string text) => problems.Add($"{name}: {text}");

        var category = Code(d, "intervention-category") switch
        {
            "medication" => InterventionCategory.Medication,
            "lifestyle" => InterventionCategory.Lifestyle,
            "screening" => InterventionCategory.Screening,
            "referral" => InterventionCategory.Referral,
            var other => Fail<InterventionCategory>($"intervention-category '{other}' is not medication, lifestyle, screening or referral"),
        };
        var itemClass = Code(d, "intervention-class") ?? Fail<string>("no intervention-class");
        var resourceType = d.Kind switch
        {
            ActivityDefinition.RequestResourceType.MedicationRequest => "MedicationRequest",
            ActivityDefinition.RequestResourceType.ServiceRequest => "ServiceRequest",
            _ => Fail<string>("kind must be MedicationRequest or ServiceRequest"),
        };
        if (d.Intent != RequestIntent.Proposal)
        {
            Problem("intent must be proposal (HealthRec suggests, the clinician orders)");
        }

        var concept = resourceType == "MedicationRequest" ? d.Product as CodeableConcept : d.Code;
        var coding = concept?.Coding.FirstOrDefault();
        if (coding is not { System: { } system, Code: { } code })
        {
            Problem(resourceType == "MedicationRequest" ? "productCodeableConcept needs a coding" : "code needs a coding");
            return null;
        }

        if (system is not (CodeSystems.RxNorm or CodeSystems.Snomed or CodeSystems.Loinc))
        {
            Problem($"unknown code system '{system}' (RxNorm, SNOMED CT or LOINC)");
        }

        var notIfTaking = Codes(d, "not-if-taking").ToImmutableArray();
        if (category == InterventionCategory.Medication)
        {
            // The product must be a medicine the terminology knows, of a class its "already taking" check names.
            var classes = terminology.MedicationClassesOf(system, code, $"{coding.Display} {concept!.Text}".Trim());
            if (terminology.MedicationClassesOf(system, code, null).IsEmpty)
            {
                Problem($"{system}|{code} is not a medicine the terminology knows by its code");
            }
            else if (!classes.Any(notIfTaking.Contains))
            {
                Problem($"{system}|{code} ({concept.Text}) is in no class named by not-if-taking (terminology says: {(classes.IsEmpty ? "unknown medicine" : string.Join(", ", classes))})");
            }
        }

        RuleWithReason? Rule(Extension e, string what)
        {
            if (e.Value is not Expression { Language: RuleLanguage, Expression_: { } text } expression)
            {
                Problem($"{what} must be a valueExpression in {RuleLanguage}");
                return null;
            }

            try
            {
                return new RuleWithReason(Clinical.Knowledge.Rule.Compile(text, vocabulary), expression.Description ?? text);
            }
            catch (RuleException ex)
            {
                Problem($"{what}: {ex.Message}");
                unknown.Features.UnionWith(ex.UnknownFeatures);

                return null;
            }
        }

        var indicationExtension = d.GetExtension(ExtensionBase + "indication");
        var indication = indicationExtension is null ? Fail<RuleWithReason?>("no indication") : Rule(indicationExtension, "indication");
        var contraindications = d.Extension.Where(e => e.Url == ExtensionBase + "contraindication").Select(e => Rule(e, "contraindication")).OfType<RuleWithReason>().ToImmutableArray();
        var cautions = d.Extension.Where(e => e.Url == ExtensionBase + "caution").Select(e => Rule(e, "caution")).OfType<RuleWithReason>().ToImmutableArray();
        var consider = d.GetExtension(ExtensionBase + "consider") is { } considerExtension ? Rule(considerExtension, "consider") : null;
        foreach (var medicationClass in notIfTaking.Where(c => !vocabulary.MedicationClasses.Contains(c)))
        {
            Problem($"not-if-taking names unknown medication class '{medicationClass}'");
        }

        var prevents = Codes(d, "prevents").ToImmutableArray();
        foreach (var group in prevents.Where(g => !vocabulary.ConditionGroups.Contains(g)))
        {
            Problem($"prevents names unknown condition group '{group}'");
        }

        var addresses = Codes(d, "addresses").ToImmutableArray();
        foreach (var outcome in addresses.Where(o => !outcomes.Contains(o)))
        {
            Problem($"addresses unknown outcome '{outcome}'");
            unknown.Outcomes.Add(outcome);
        }

        (string, int, string)? measured = null;
        if (d.GetExtension(ExtensionBase + "not-if-measured-within") is { } within)
        {
            var analyte = within.GetExtensionValue<Code>("analyte")?.Value;
            var days = within.GetExtensionValue<Integer>("days")?.Value;
            if (analyte is null || days is not > 0 || terminology.Analytes.FirstOrDefault(a => a.Id == analyte) is not { } known)
            {
                Problem("not-if-measured-within needs a known analyte and days > 0");
            }
            else
            {
                measured = (analyte, days.Value, known.Title);
            }
        }

        var response = Code(d, "response");
        if (response is not null && !terminology.Analytes.Any(a => a.Id == response))
        {
            Problem($"response names unknown analyte '{response}'");
        }

        var effects = ImmutableArray.CreateBuilder<StatedEffect>();
        foreach (var effect in d.Extension.Where(e => e.Url == ExtensionBase + "effect"))
        {
            var outcome = effect.GetExtensionValue<Code>("outcome")?.Value;
            var rr = effect.GetExtensionValue<FhirDecimal>("relativeRisk")?.Value;
            var source = effect.GetExtensionValue<FhirString>("source")?.Value;
            if (outcome is null || !outcomes.Contains(outcome) || rr is not (> 0 and <= 2) || string.IsNullOrWhiteSpace(source))
            {
                Problem("effect needs a known outcome, a relative risk in (0, 2] and its source");
                continue;
            }

            effects.Add(new StatedEffect(outcome, (double)rr.Value, source));
        }

        // Evidence marked "supports: consider" backs the zone left to judgement, not the indication: shown only with an
        // item offered in that zone.
        var evidence = d.RelatedArtifact
            .Where(a => a.Type is RelatedArtifact.RelatedArtifactType.Justification or RelatedArtifact.RelatedArtifactType.Citation)
            .Select(a => (Artifact: a, Strength: a.GetExtensionValue<FhirString>(ExtensionBase + "recommendation-strength")?.Value,
                ForConsider: a.GetExtensionValue<Code>(ExtensionBase + "supports")?.Value == "consider"))
            .ToList();
        if (!evidence.Exists(e => !e.ForConsider))
        {
            Problem("no evidence (a relatedArtifact of type justification or citation)");
        }

        if (consider is not null && !evidence.Exists(e => e.ForConsider))
        {
            Problem("consider needs its own evidence (a relatedArtifact with the extension supports = consider)");
        }

        foreach (var (artifact, strength, _) in evidence)
        {
            if (string.IsNullOrWhiteSpace(artifact.Label) || string.IsNullOrWhiteSpace(artifact.Display) || string.IsNullOrWhiteSpace(artifact.Citation)
                || string.IsNullOrWhiteSpace(artifact.Url) || string.IsNullOrWhiteSpace(strength))
            {
                Problem("evidence needs a label, the recommendation (display), a citation, a url and a recommendation-strength");
            }
        }

        if (string.IsNullOrWhiteSpace(d.Title))
        {
            Problem("no title");
        }

        return indication is null ? null : new Intervention
        {
            Id = name,
            Title = d.Title ?? name,
            Category = category,
            Class = itemClass,
            ResourceType = resourceType,
            CodeSystem = system,
            Code = code,
            Display = concept?.Text ?? coding.Display ?? code,
            Dosage = d.Dosage.FirstOrDefault()?.Text,
            Addresses = addresses,
            Prevents = prevents,
            Indication = indication,
            Consider = consider,
            Contraindications = contraindications,
            Cautions = cautions,
            NotIfTaking = notIfTaking,
            NotIfMeasuredWithin = measured,
            Effects = effects.ToImmutable(),
            Response = response,
            ResponseTitle = terminology.Analytes.FirstOrDefault(a => a.Id == response)?.Title,
            Revised = d.DateElement?.ToDateTimeOffset(TimeSpan.Zero),
            Evidence = [.. evidence.Where(e => !e.ForConsider).Select(e => EvidenceOf(e.Artifact, e.Strength))],
            ConsiderEvidence = [.. evidence.Where(e => e.ForConsider).Select(e => EvidenceOf(e.Artifact, e.Strength))],
        };

        T Fail<T>(string text)
        {
            Problem(text);
            return default!;
        }
    }

    private static string? Code(ActivityDefinition d, string extension) => d.GetExtensionValue<Code>(ExtensionBase + extension)?.Value;

    private static IEnumerable<string> Codes(ActivityDefinition d, string extension) =>
        d.Extension.Where(e => e.Url == ExtensionBase + extension).Select(e => (e.Value as Code)?.Value).OfType<string>();

    private static Clinical.Knowledge.Evidence EvidenceOf(RelatedArtifact artifact, string? strength) =>
        new(artifact.Label ?? "", artifact.Display ?? "", strength ?? "", artifact.Citation ?? "", artifact.Url ?? "");
}
