namespace HealthRec.Clinical.Safety;

/// <summary>
/// Checks a medicine against the patient's allergies and intolerances: an active one (no status reads as active;
/// inactive and resolved do not count) that names an ingredient of the medicine, its class where an allergy to one
/// member counts for all, a cross-reacting class (the rule's severity), or the medicine's name. An allergy that may be
/// to a medicine and names nothing HealthRec can compare, or an allergy list the source could not give, is said.
/// </summary>
internal sealed class AllergyCheck(MedicationKnowledge knowledge, ClinicalTerminology terminology)
{
    public void Check(MedicineUnderCheck medicine, PatientRecord record, List<SafetyFinding> findings)
    {
        if (record.Unavailable.TryGetValue("AllergyIntolerance", out var why))
        {
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, "allergy", "allergy-list",
                $"allergies not checked for {medicine.Name}: the allergy list could not be read ({why})", knowledge.AllergyEvidence)
            {
                Summary = "allergies not checked: the allergy list could not be read",
            });
            return;
        }

        // "No known drug allergy" and its kind are records that there is none, not allergies: never compared, never unreadable.
        foreach (var allergy in record.Allergies.Where(a => a.IsActive && !NoneKnown(a)))
        {
            var allergen = Resolve(allergy);
            if (!allergen.Medication)
            {
                continue;
            }

            var recorded = $"allergy to {allergy.Name} recorded ({Describe(allergy)})";
            var what = allergy.Type == "intolerance" ? "intolerance" : "allergy";
            var summary = (allergy.Name.StartsWith(what, StringComparison.OrdinalIgnoreCase) ? $"{allergy.Name} recorded" : $"{what} to {allergy.Name} recorded")
                + (allergy.Unconfirmed ? " (unconfirmed)" : "");
            var ingredient = medicine.Identity.Ingredients.FirstOrDefault(i => allergen.Ingredients.Contains(i.Code));
            if (ingredient != default)
            {
                findings.Add(Allergy(Severity.Contraindicated, "allergy-ingredient", $"{recorded}: {medicine.Name} contains {ingredient.Name}", summary, knowledge.AllergyEvidence));
                continue;
            }

            var shared = knowledge.AllergyClasses.FirstOrDefault(c => allergen.Classes.Contains(c.Class) && medicine.Identity.Classes.Contains(c.Class, StringComparer.Ordinal));
            if (shared is not null)
            {
                findings.Add(Allergy(Severity.Contraindicated, $"allergy-class-{shared.Class}", $"{recorded}: {medicine.Name} is one of the {shared.Title}", summary, shared.Evidence));
                continue;
            }

            if (allergen.Names.FirstOrDefault(n => ClinicalTerminology.ContainsWord(medicine.Name.ToLowerInvariant(), n)) is { } named)
            {
                findings.Add(Allergy(Severity.Contraindicated, "allergy-name", $"{recorded}: {medicine.Name} is named '{named}'", summary, knowledge.AllergyEvidence));
                continue;
            }

            var cross = knowledge.CrossReactions.FirstOrDefault(x => allergen.Classes.Contains(x.AllergyClass) && medicine.Identity.Classes.Contains(x.DrugClass, StringComparer.Ordinal));
            if (cross is not null)
            {
                findings.Add(Allergy(cross.Severity, $"cross-reaction-{cross.AllergyClass}-{cross.DrugClass}", $"{recorded}: {cross.Text}", $"{cross.Severity.Word()}: {summary}", cross.Evidence));
                continue;
            }

            if (!allergen.Readable && allergy.MayBeMedication)
            {
                findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, "allergy", "allergy-unreadable",
                    $"allergy check incomplete for {medicine.Name}: an allergy is recorded as {allergy.Name} ({allergy.Where}), which HealthRec cannot compare with medicines", knowledge.AllergyEvidence)
                {
                    Summary = $"allergies not fully checked: '{allergy.Name}' cannot be compared",
                    Headline = "allergies not fully checked",
                });
            }
        }
    }

    private bool NoneKnown(AllergyEntry allergy) =>
        allergy.Codes.Any(c => knowledge.Allergens.TryGetValue((c.System, c.Code), out var known) && known.NoneKnown);

    private static SafetyFinding Allergy(Severity severity, string rule, string text, string summary, ImmutableArray<EvidenceSource> evidence) =>
        new(FindingKind.Allergy, severity, "allergy", rule, char.ToUpperInvariant(text[0]) + text[1..], evidence) { Summary = summary };

    private static string Describe(AllergyEntry allergy)
    {
        var parts = new List<string>();
        parts.Add(allergy.Type == "intolerance" ? "intolerance" : "allergy");
        if (allergy.Criticality is { } criticality)
        {
            parts.Add($"criticality {criticality}");
        }

        parts.Add(allergy.VerificationStatus is { } verification ? verification : "verification not stated");
        return string.Join(", ", parts);
    }

    // What an allergy is about: ingredients and classes from its codes (RxNorm, ATC, the knowledge base's SNOMED CT
    // allergens), and from its text and displays (ingredient names, class names); and whether it can be compared at all.
    private ResolvedAllergy Resolve(AllergyEntry allergy)
    {
        var ingredients = new HashSet<string>(StringComparer.Ordinal);
        var classes = new HashSet<string>(StringComparer.Ordinal);
        var names = new List<string>();
        var medication = allergy.MayBeMedication;
        var readable = false;
        foreach (var code in allergy.Codes)
        {
            if (knowledge.Allergens.TryGetValue((code.System, code.Code), out var known))
            {
                readable = true;
                medication |= known.Medication;
                ingredients.UnionWith(known.Ingredients);
                classes.UnionWith(known.Classes);
                if (!known.Medication && allergy.Categories.IsEmpty)
                {
                    medication = false;
                }

                continue;
            }

            if (code.System is CodeSystems.RxNorm or CodeSystems.Atc)
            {
                medication = true;
                var identity = terminology.IdentifyMedication(code.System, code.Code, code.Display);
                ingredients.UnionWith(identity.Ingredients.Select(i => i.Code));
                classes.UnionWith(identity.Classes);
                // Comparable when the terminology knows the code, or by the name RxNorm or ATC gives it (a product is named
                // by its ingredients, an ATC code by its substance); a bare code it does not list could be any medicine.
                readable |= identity.IsKnown;
                if (code.Display is { Length: > 3 } display)
                {
                    readable = true;
                    names.Add(display.ToLowerInvariant());
                }
            }
        }

        foreach (var text in allergy.Codes.Select(c => c.Display).Append(allergy.Text).OfType<string>())
        {
            var lower = text.ToLowerInvariant();
            foreach (var ingredient in terminology.IngredientsNamedIn(lower))
            {
                ingredients.Add(ingredient.Code);
                readable = true;
            }

            foreach (var named in knowledge.AllergyClasses.Where(c => c.Synonyms.Any(s => ClinicalTerminology.ContainsWord(lower, s))))
            {
                classes.Add(named.Class);
                readable = true;
            }
        }

        // Free text is compared by name too (an allergy to "codeine" against "codeine sulfate 30 MG"), but text that names
        // nothing HealthRec knows does not make the allergy readable: a brand or a misspelling could be any medicine.
        if (allergy.Text is { Length: > 3 } freeText)
        {
            names.Add(freeText.ToLowerInvariant());
        }

        return new ResolvedAllergy(medication, readable, [.. ingredients], [.. classes], [.. names.Distinct(StringComparer.Ordinal)]);
    }

    private sealed record ResolvedAllergy(bool Medication, bool Readable, ImmutableArray<string> Ingredients, ImmutableArray<string> Classes, ImmutableArray<string> Names);
}
