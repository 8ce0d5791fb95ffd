namespace HealthRec.Clinical.Safety;

/// <summary>What a finding is about.</summary>
public enum FindingKind
{
    /// <summary>The patient is allergic to the medicine, an ingredient of it, or its class (or a cross-reacting class).</summary>
    Allergy,

    /// <summary>A rule about the patient's state (kidney function, potassium, pregnancy, a condition) fires.</summary>
    Contraindication,

    /// <summary>A rule about another medicine taken or ordered fires.</summary>
    Interaction,

    /// <summary>Another medicine of the same class is taken or ordered.</summary>
    Duplicate,

    /// <summary>A check could not be made: its input is missing, too old or unreadable. Never silence.</summary>
    NotChecked,
}

/// <summary>
/// One thing a clinician should know about a medicine for this patient. <see cref="Check"/> names the check
/// ("kidney function (eGFR)", "allergy", "interactions"), <see cref="Text"/> says what was found or why it could not be
/// checked; <see cref="Severity"/> is the rule's (a check that could not be made counts as <see cref="Severity.Avoid"/>:
/// it is shown as a warning, and a suggestion is not offered on it).
/// </summary>
public sealed record SafetyFinding(FindingKind Kind, Severity Severity, string Check, string RuleId, string Text, ImmutableArray<EvidenceSource> Evidence)
{
    /// <summary>A few words for a card's summary, after the medicine's name (e.g. "contraindicated: eGFR 24 mL/min/1.73 m² on 2026-11-06").</summary>
    public string Summary { get; init; } = Text;

    /// <summary>
    /// The fewest words that still say what was found (e.g. "kidney function (eGFR) not checked"), for a summary where
    /// <see cref="Summary"/> and the medicine's name do not fit: the reason then stands in the card's detail.
    /// </summary>
    public string Headline { get => field ?? Summary; init; }

    /// <summary>Whether it stops a suggestion and warns on an order: everything but a caution.</summary>
    public bool Blocks => Severity > Severity.Caution;

    /// <summary>An allergy to the medicine itself or its class (not a cross-reaction): the most urgent card.</summary>
    public bool Critical => Kind == FindingKind.Allergy && Severity == Severity.Contraindicated;
}

/// <summary>A medicine to check: what it is called, and what the terminology knows of it.</summary>
public sealed record MedicineUnderCheck(string Name, MedicationIdentity Identity, ImmutableArray<CodedValue> Codes)
{
    /// <summary>
    /// Whether anything identifies it: a class or ingredient the terminology knows, or a name. A bare code the terminology
    /// does not list (an RxNorm product code, say) is not enough: what it contains, and so every check, is unknown.
    /// </summary>
    public bool Identifiable => Identity.IsKnown || !string.IsNullOrWhiteSpace(Name);
}

/// <summary>
/// Checks one medicine against a patient at a date with the knowledge base: allergies (ingredient, class, cross-reacting
/// class, name), every rule about the medicine (kidney function, potassium, pregnancy, conditions, interactions with
/// what is taken or ordered beside it) and duplicate therapy. Fails safe: a rule whose input is missing, too old or
/// unreadable gives a <see cref="FindingKind.NotChecked"/> finding that says which input and why, never nothing.
/// Stateless apart from caches; thread-safe.
/// </summary>
public sealed class MedicationSafety(MedicationKnowledge knowledge, ClinicalTerminology terminology)
{
    private readonly AllergyCheck _allergies = new(knowledge, terminology);

    public MedicationKnowledge Knowledge { get; } = knowledge;

    public ClinicalTerminology Terminology { get; } = terminology;

    /// <summary>The medicine an entry of the record (or a draft order) is.</summary>
    public MedicineUnderCheck Describe(string system, string code, string? display, string? text = null)
    {
        var name = display ?? text ?? "";
        var identity = Terminology.IdentifyMedication(system, code, name.Length > 0 ? name : null);
        if (!identity.IsKnown && text is not null && !string.Equals(text, display, StringComparison.Ordinal))
        {
            identity = Terminology.IdentifyMedication(system, code, text);
        }

        return new MedicineUnderCheck(name, identity, [new CodedValue(system, code, display)]);
    }

    /// <summary>
    /// Every finding for <paramref name="medicine"/>, most severe first; empty means every applicable check was made and
    /// found nothing. <paramref name="alongside"/> are other medicines ordered at the same time (counted as taken).
    /// </summary>
    public IReadOnlyList<SafetyFinding> Check(MedicineUnderCheck medicine, PatientRecord record, DateTimeOffset at, IReadOnlyList<MedicationEntry> alongside) =>
        Check(medicine, record, at, Taken(record, at, alongside));

    /// <summary>
    /// What the patient takes at <paramref name="at"/> and <paramref name="ordered"/> beside it, each distinct medicine
    /// identified once: an order session checks every draft against the same list (<see cref="TakenMedicines.Without"/>
    /// leaves out the draft under check), so checking n drafts reads the list n times, not builds and identifies it n times.
    /// </summary>
    public TakenMedicines Taken(PatientRecord record, DateTimeOffset at, IEnumerable<MedicationEntry> ordered) =>
        new(record.Medications.Where(m => m.IsActiveAt(at)).Concat(ordered), Identity);

    /// <summary>As <see cref="Check(MedicineUnderCheck, PatientRecord, DateTimeOffset, IReadOnlyList{MedicationEntry})"/>, against a list identified once.</summary>
    public IReadOnlyList<SafetyFinding> Check(MedicineUnderCheck medicine, PatientRecord record, DateTimeOffset at, TakenMedicines taken)
    {
        ArgumentNullException.ThrowIfNull(taken);
        var findings = new List<SafetyFinding>();
        if (!medicine.Identifiable)
        {
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, "identity", "identity",
                $"the medicine could not be identified ({(medicine.Codes.IsEmpty ? "no code" : $"{Codes(medicine.Codes)}, a code HealthRec's terminology does not list")}, " +
                "and no name): allergies, kidney function and interactions not checked", [])
            {
                Summary = "not checked: the medicine could not be identified",
            });
            return findings;
        }

        _allergies.Check(medicine, record, findings);
        foreach (var rule in Knowledge.Rules)
        {
            if (rule.Kind == SafetyRuleKind.Interaction)
            {
                CheckInteraction(rule, medicine, taken, findings);
            }
            else if (rule.Drugs.Matches(medicine.Identity))
            {
                CheckState(rule, medicine, record, at, findings);
            }
        }

        CheckDuplicates(medicine, taken, findings);
        if (Knowledge.Covers(medicine.Identity))
        {
            CheckMedicationList(medicine, record, at, findings);
        }

        return [.. findings
            .GroupBy(f => (f.Kind, f.Check, f.Text))
            .Select(g => g.First())
            .OrderByDescending(f => f.Critical)
            .ThenByDescending(f => f.Severity)
            .ThenBy(f => f.Kind)];
    }

    private static void CheckState(SafetyRule rule, MedicineUnderCheck medicine, PatientRecord record, DateTimeOffset at, List<SafetyFinding> findings)
    {
        var (check, reading) = rule.Kind switch
        {
            SafetyRuleKind.Kidney when rule.Measure == KidneyMeasure.Egfr => ("kidney function (eGFR)", PatientReadings.Egfr(record, at, rule.MaxAgeDays)),
            SafetyRuleKind.Kidney => ("kidney function (creatinine clearance)", PatientReadings.CreatinineClearance(record, at, rule.MaxAgeDays)),
            SafetyRuleKind.Potassium => ("potassium", PatientReadings.Potassium(record, at, rule.MaxAgeDays)),
            SafetyRuleKind.Pregnancy => ("pregnancy", PatientReadings.Pregnancy(record, at)),
            _ => ("conditions", Condition(record, at, rule.Condition!)),
        };
        // A list the source could not give at all leaves nothing to read the input from.
        foreach (var type in NeededLists(rule.Kind))
        {
            if (record.Unavailable.TryGetValue(type, out var unavailable))
            {
                reading = Reading.Unknown($"the {type} list could not be read ({unavailable})");
            }
        }

        if (reading.Value is not { } value)
        {
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, check, rule.Id,
                $"{check} not checked for {medicine.Name}: {reading.Text}", rule.Evidence)
            {
                Summary = $"{check} not checked: {reading.Text}",
                Headline = reading.Brief is { } brief ? $"{check} not checked: {brief}" : $"{check} not checked",
            });
            return;
        }

        var fires = rule.Kind switch
        {
            SafetyRuleKind.Kidney or SafetyRuleKind.Potassium => rule.Threshold!.Holds(value, reading.Bound),
            _ => value >= 1,
        };
        if (fires is null)
        {
            // A result reported as a bound ("eGFR <45") that reaches across the rule's threshold: it may hold, or not.
            // The summary leaves out the date and the source so that "may or may not be" fits beside a long drug name.
            var why = $"{reading.Text} does not tell whether it is {rule.Threshold!.Text}";
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, check, rule.Id,
                $"{check} not checked for {medicine.Name}: {why}, where {rule.Text}", rule.Evidence)
            {
                Summary = $"{check} not checked: {reading.Measured ?? reading.Text} may or may not be {rule.Threshold.Text}",
                Headline = $"{check} not checked",
            });
        }
        else if (fires.Value)
        {
            findings.Add(new SafetyFinding(FindingKind.Contraindication, rule.Severity, check, rule.Id,
                $"{rule.Text} ({reading.Text})", rule.Evidence) { Summary = $"{rule.Severity.Word()}: {reading.Measured ?? reading.Text}" });
        }
    }

    private static string[] NeededLists(SafetyRuleKind kind) => kind switch
    {
        SafetyRuleKind.Kidney or SafetyRuleKind.Potassium => ["Observation"],
        SafetyRuleKind.Pregnancy => ["Condition", "Observation"],
        SafetyRuleKind.Condition => ["Condition"],
        _ => [],
    };

    private static Reading Condition(PatientRecord record, DateTimeOffset at, string group) =>
        record.Conditions.LastOrDefault(c => c.Groups.Contains(group) && c.IsActiveAt(at)) is { } condition
            ? new Reading(1, $"{ClinicalWords.Group(group)} on the problem list since {PatientReadings.Day(condition.Onset!.Value)}")
            : new Reading(0, $"no {ClinicalWords.Group(group)} on the problem list");

    // An interaction rule involves this medicine when it belongs to one of the rule's groups; it fires when every other
    // group is met by a medicine taken or ordered beside it (or by this one, for a combination product).
    private static void CheckInteraction(SafetyRule rule, MedicineUnderCheck medicine, TakenMedicines taken, List<SafetyFinding> findings)
    {
        var groups = rule.With.Insert(0, rule.Drugs);
        if (!groups.Any(g => g.Matches(medicine.Identity)))
        {
            return;
        }

        var partners = new List<string>();
        foreach (var group in groups)
        {
            if (group.Matches(medicine.Identity))
            {
                continue;
            }

            var met = new List<string>();
            foreach (var (entry, identity) in taken)
            {
                if (group.Matches(identity) && !SameMedicine(entry, medicine) && !met.Contains(Name(entry), StringComparer.Ordinal))
                {
                    met.Add(Name(entry));
                }
            }

            if (met.Count == 0)
            {
                return;
            }

            partners.AddRange(met);
        }

        findings.Add(new SafetyFinding(FindingKind.Interaction, rule.Severity, "interactions", rule.Id,
            $"{rule.Text} ({medicine.Name} with {string.Join(" and ", partners)})", rule.Evidence)
        {
            Summary = $"{rule.Severity.Word()} with {string.Join(" and ", partners)}",
            Headline = partners.Count > 1 ? $"{rule.Severity.Word()} with {partners[0]} and {partners.Count - 1} more" : $"{rule.Severity.Word()}: an interaction",
        });
    }

    private void CheckDuplicates(MedicineUnderCheck medicine, TakenMedicines taken, List<SafetyFinding> findings)
    {
        var classes = medicine.Identity.Classes.Where(Knowledge.DuplicateClasses.Contains).ToList();
        if (classes.Count == 0)
        {
            return;
        }

        foreach (var (other, identity) in taken)
        {
            var shared = classes.Where(c => identity.Classes.Contains(c, StringComparer.Ordinal)).ToList();
            if (shared.Count == 0)
            {
                continue;
            }

            if (identity.Ingredients.Any(i => medicine.Identity.Ingredients.Contains(i)))
            {
                findings.Add(new SafetyFinding(FindingKind.Duplicate, Severity.Caution, "duplicate therapy", "same-medicine",
                    $"{Name(other)} is already taken or ordered: a renewal, or the same medicine twice?", Knowledge.DuplicateEvidence)
                {
                    Summary = $"already taken or ordered ({Name(other)})",
                    Headline = "already taken or ordered",
                });
            }
            else
            {
                findings.Add(new SafetyFinding(FindingKind.Duplicate, Severity.Avoid, "duplicate therapy", $"duplicate-{shared[0]}",
                    $"Duplicate therapy: {medicine.Name} with {Name(other)} already taken or ordered (same class: {string.Join(", ", shared)})", Knowledge.DuplicateEvidence)
                {
                    Summary = $"duplicate therapy with {Name(other)}",
                    Headline = "duplicate therapy",
                });
            }
        }
    }

    // Interactions and duplicates are only as good as the medication lists: a list the source could not give, or a
    // medicine on it that cannot be identified, is said.
    private static void CheckMedicationList(MedicineUnderCheck medicine, PatientRecord record, DateTimeOffset at, List<SafetyFinding> findings)
    {
        foreach (var (type, why) in record.Unavailable.Where(u => u.Key is "MedicationRequest" or "MedicationStatement"))
        {
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, "interactions", "medication-list",
                $"interactions and duplicate therapy not checked for {medicine.Name}: the {type} list could not be read ({why})", [])
            {
                Summary = $"interactions not checked: the {type} list could not be read",
            });
        }

        var unread = record.Unread.Where(u => u.Subject == "medication" && (u.At is null || u.At <= at)).ToList();
        if (unread.Count > 0)
        {
            findings.Add(new SafetyFinding(FindingKind.NotChecked, Severity.Avoid, "interactions", "medication-unidentified",
                $"interactions and duplicate therapy not fully checked for {medicine.Name}: {unread.Count} medicine(s) on the record could not be identified ({string.Join("; ", unread.Take(3).Select(u => $"{u.Where}: {u.Why}"))})", [])
            {
                Summary = $"interactions not checked: {unread.Count} medicine(s) on the record could not be identified",
            });
        }
    }

    private MedicationIdentity Identity(MedicationEntry entry) => Terminology.IdentifyMedication(entry.System, entry.Code, entry.Display);

    private static string Name(MedicationEntry entry) => entry.Display ?? $"{entry.System}|{entry.Code}";

    private static bool SameMedicine(MedicationEntry entry, MedicineUnderCheck medicine) =>
        medicine.Codes.Any(c => string.Equals(c.System, entry.System, StringComparison.Ordinal) && string.Equals(c.Code, entry.Code, StringComparison.Ordinal))
        && string.Equals(Name(entry), medicine.Name, StringComparison.Ordinal);

    private static string Codes(ImmutableArray<CodedValue> codes) =>
        codes.IsEmpty ? "no code" : string.Join(", ", codes.Select(c => $"{c.System}|{c.Code}"));

}
