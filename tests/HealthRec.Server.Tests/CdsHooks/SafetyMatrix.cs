using Hl7.Fhir.Model;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// The card a case expects for its first draft order: topic code, indicator, words its summary or detail holds, and
/// (<see cref="SummaryEnds"/>) how its summary ends, where the summary has to give a reason in few words.
/// </summary>
internal sealed record ExpectedCard(string Topic, string Indicator, string Says)
{
    public string? SummaryEnds { get; init; }
}

/// <summary>
/// One medication-safety case: a patient as an EHR holds them, the draft orders being signed (the first is the one under
/// test; the others are signed with it), and the card expected for the first — or null for "no card: every check made
/// and passed". <see cref="PrefetchOnly"/> marks a case about what the EHR did not prefetch.
/// </summary>
internal sealed record SafetyCase(Func<PatientFixture> Patient, Func<PatientFixture, MedicationRequest[]> Drafts, ExpectedCard? Expected,
    bool PrefetchOnly = false);

/// <summary>
/// The safety case matrix: drug × patient state — eGFR in each unit, creatinine only, nothing recorded, stale, unreadable;
/// creatinine clearance; potassium; allergies by ingredient, by class, by text, refuted, unconfirmed, inactive,
/// unreadable, not sent; interaction pairs and the triple whammy; pregnancy from the problem list, from a status, unknown;
/// conditions; duplicates; medicines HealthRec cannot identify. Written by hand from the rules' sources, not generated.
/// </summary>
internal static class SafetyMatrix
{
    private const string Metformin = "860975";
    private const string MetforminName = "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet";
    private const string Warning = "warning";
    private const string Info = "info";
    private const string Critical = "critical";
    private const string Rx = "http://www.nlm.nih.gov/research/umls/rxnorm";
    private const string Sct = "http://snomed.info/sct";

    private static ExpectedCard Contraindicated(string says) => new("order-contraindication", Warning, says);

    private static ExpectedCard NotChecked(string says) => new("order-not-checked", Warning, says);

    private static ExpectedCard Caution(string says) => new("order-caution", Info, says);

    private static ExpectedCard Interaction(string says) => new("order-interaction", Warning, says);

    private static ExpectedCard Allergy(string says, string indicator = Critical) => new("order-allergy", indicator, says);

    // A man of 70 with nothing else recorded, and a woman of 30; each case adds what it is about.
    private static PatientFixture Man(int age = 70) => new PatientFixture("male", age).Visit(20);

    private static PatientFixture Woman(int age = 30) => new PatientFixture("female", age).Visit(20);

    private static PatientFixture Egfr(this PatientFixture p, decimal value, string unit = "mL/min/{1.73_m2}", int daysAgo = 30) => p.Lab("33914-3", value, unit, daysAgo);

    private static PatientFixture Potassium(this PatientFixture p, decimal value, string unit = "mmol/L", int daysAgo = 30) => p.Lab("2823-3", value, unit, daysAgo);

    private static Func<PatientFixture, MedicationRequest[]> Sign(string rxnorm, string display, params (string Rxnorm, string Display)[] others) =>
        p => [p.Draft(rxnorm, display), .. others.Select(o => p.Draft(o.Rxnorm, o.Display))];

    public static readonly IReadOnlyDictionary<string, SafetyCase> Cases = new Dictionary<string, SafetyCase>(StringComparer.Ordinal)
    {
        // ---- kidney function, eGFR in every unit EHRs send, or computed from creatinine
        ["metformin, eGFR 24 mL/min/{1.73_m2}"] = new(() => Man().Egfr(24), Sign(Metformin, MetforminName), Contraindicated("contraindicated: eGFR 24 mL/min/1.73 m²")
            with { SummaryEnds = "Tablet: contraindicated: eGFR 24 mL/min/1.73 m²" }),
        ["metformin, eGFR 24 spelled mL/min/1.73m2"] = new(() => Man().Egfr(24, "mL/min/1.73m2"), Sign(Metformin, MetforminName), Contraindicated("contraindicated: eGFR 24 mL/min/1.73 m²")),
        ["metformin, eGFR 27 in mL/min (equivalence, said)"] = new(() => Man().Egfr(27, "mL/min"), Sign(Metformin, MetforminName),
            Contraindicated("reported in mL/min and read as mL/min/1.73 m²")),
        ["metformin, eGFR 4 in mL/min"] = new(() => Man().Egfr(4, "mL/min"), Sign(Metformin, MetforminName), Contraindicated("contraindicated: eGFR 4 mL/min/1.73 m²")),
        ["metformin, creatinine 2.6 mg/dL only (eGFR computed)"] = new(() => Man().Lab("2160-0", 2.6m, "mg/dL", 30), Sign(Metformin, MetforminName),
            Contraindicated("computed by HealthRec from serum creatinine 2.6 mg/dL with the CKD-EPI 2021 equation, age 70, male")),
        ["metformin, creatinine 230 umol/L only (eGFR computed)"] = new(() => Man().Lab("14682-9", 230, "umol/L", 30), Sign(Metformin, MetforminName),
            Contraindicated("computed by HealthRec from serum creatinine 2.6 mg/dL")),
        ["metformin, no eGFR or creatinine"] = new(() => Man(), Sign(Metformin, MetforminName),
            NotChecked("kidney function (eGFR) not checked: no eGFR or serum creatinine recorded")),
        ["metformin, eGFR 500 days old"] = new(() => Man().Egfr(75, daysAgo: 500), Sign(Metformin, MetforminName), NotChecked("is 500 days old; this check needs one from the last 365 days")
            with { SummaryEnds = "Tablet: kidney function (eGFR) not checked: the last eGFR is 500 days old" }),
        ["metformin, eGFR in an unreadable unit"] = new(() => Man().Egfr(75, "mmol/L"), Sign(Metformin, MetforminName),
            NotChecked("eGFR recorded in 'mmol/L' on")),
        ["metformin, eGFR 75"] = new(() => Man().Egfr(75), Sign(Metformin, MetforminName), null),
        ["metformin, eGFR 38 (caution)"] = new(() => Man().Egfr(38), Sign(Metformin, MetforminName), Caution("caution: eGFR 38 mL/min/1.73 m²")),
        ["metformin, creatinine 0.9 only (computed, normal)"] = new(() => Man().Lab("2160-0", 0.9m, "mg/dL", 30), Sign(Metformin, MetforminName), null),
        ["metformin, newest eGFR unreadable, older one fine"] = new(() => Man().Egfr(80, daysAgo: 200).Egfr(10, "mmol/L", daysAgo: 10), Sign(Metformin, MetforminName),
            NotChecked("recorded in 'mmol/L' on")),
        ["metformin, creatinine only, sex unknown"] = new(() => new PatientFixture("unknown", 70).Lab("2160-0", 2.6m, "mg/dL", 30), Sign(Metformin, MetforminName),
            NotChecked("cannot be computed without a sex recorded as female or male") with { SummaryEnds = "not checked: no eGFR, and none can be computed" }),
        // A result reported as a bound is judged over the range it allows: "<30" is below 30; "<45" may be either side.
        ["metformin, eGFR reported as <30"] = new(() => Man().Lab("33914-3", 30, "mL/min/{1.73_m2}", 30, Quantity.QuantityComparator.LessThan), Sign(Metformin, MetforminName),
            Contraindicated("contraindicated: eGFR <30 mL/min/1.73 m²")),
        ["metformin, eGFR reported as <45"] = new(() => Man().Lab("33914-3", 45, "mL/min/{1.73_m2}", 30, Quantity.QuantityComparator.LessThan), Sign(Metformin, MetforminName),
            NotChecked("does not tell whether it is below 30")),
        // A result sent as text states no unit: it is not read, and the card quotes what was sent.
        ["metformin, eGFR sent as the text '>60'"] = new(() => Man().LabText("33914-3", " >60\n", 30), Sign(Metformin, MetforminName),
            NotChecked("as the text '>60', not a number with a unit")),
        // The summary gives way to the finding: a long name is shortened there (and stands whole in the detail).
        ["metformin with a long name, eGFR reported as <45"] = new(() => Man().Lab("33914-3", 45, "mL/min/{1.73_m2}", 30, Quantity.QuantityComparator.LessThan),
            Sign("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet [Glumetza], as directed by the renal clinic"),
            NotChecked("…: kidney function (eGFR) not checked: eGFR <45 mL/min/1.73 m² may or may not be below 30 (+1 more)\n")),
        ["metformin, eGFR reported as >60"] = new(() => Man().Lab("33914-3", 60, "mL/min/{1.73_m2}", 30, Quantity.QuantityComparator.GreaterThan), Sign(Metformin, MetforminName), null),
        ["metformin, creatinine reported as <0.5 only (eGFR computed, above)"] = new(() => Man().Lab("2160-0", 0.5m, "mg/dL", 30, Quantity.QuantityComparator.LessThan),
            Sign(Metformin, MetforminName), null),
        ["spironolactone, potassium reported as >5.5"] = new(() => Man().Egfr(70).Lab("2823-3", 5.5m, "mmol/L", 30, Quantity.QuantityComparator.GreaterThan),
            Sign("9997", "spironolactone 25 MG Oral Tablet"), Contraindicated("contraindicated: potassium >5.5 mmol/L")),
        ["empagliflozin, eGFR 15"] = new(() => Man().Egfr(15), Sign("1545653", "empagliflozin 10 MG Oral Tablet"), Contraindicated("avoid: eGFR 15 mL/min/1.73 m²")),
        ["empagliflozin, eGFR 45"] = new(() => Man().Egfr(45), Sign("1545653", "empagliflozin 10 MG Oral Tablet"), null),
        ["ibuprofen, eGFR 24"] = new(() => Man().Egfr(24), Sign("310965", "Ibuprofen 200 MG Oral Tablet"), Contraindicated("avoid: eGFR 24 mL/min/1.73 m²")),
        ["naproxen, eGFR 27 in mL/min"] = new(() => Man().Egfr(27, "mL/min"), Sign("849574", "Naproxen sodium 220 MG Oral Tablet"), Contraindicated("avoid: eGFR 27 mL/min/1.73 m²")),
        ["ibuprofen, eGFR 45 (caution)"] = new(() => Man().Egfr(45), Sign("310965", "Ibuprofen 200 MG Oral Tablet"), Caution("caution: eGFR 45 mL/min/1.73 m²")),
        ["ibuprofen, nothing recorded"] = new(() => Man(), Sign("310965", "Ibuprofen 200 MG Oral Tablet"), NotChecked("no eGFR or serum creatinine recorded")),
        ["spironolactone, eGFR 25"] = new(() => Man().Egfr(25).Potassium(4.5m), Sign("9997", "spironolactone 25 MG Oral Tablet"), Contraindicated("contraindicated: eGFR 25 mL/min/1.73 m²")),
        ["spironolactone, potassium 5.6"] = new(() => Man().Egfr(70).Potassium(5.6m), Sign("9997", "spironolactone 25 MG Oral Tablet"), Contraindicated("contraindicated: potassium 5.6 mmol/L")
            with { SummaryEnds = "Tablet: contraindicated: potassium 5.6 mmol/L" }),
        ["spironolactone, no potassium"] = new(() => Man().Egfr(70), Sign("9997", "spironolactone 25 MG Oral Tablet"), NotChecked("potassium not checked: no serum potassium recorded")),
        ["spironolactone, potassium 4.2 in mEq/L"] = new(() => Man().Egfr(70).Potassium(4.2m, "mEq/L"), Sign("9997", "spironolactone 25 MG Oral Tablet"), null),
        ["eplerenone, creatinine clearance 21 (Cockcroft-Gault)"] = new(() => Woman(80).Egfr(60).Potassium(4.5m).Lab("2160-0", 2.0m, "mg/dL", 30).Lab("29463-7", 60, "kg", 30),
            Sign("298869", "eplerenone 25 MG Oral Tablet"), Contraindicated("contraindicated: creatinine clearance 21 mL/min")),
        ["eplerenone, no weight for creatinine clearance"] = new(() => Man().Egfr(80).Potassium(4.5m).Lab("2160-0", 1.0m, "mg/dL", 30),
            Sign("298869", "eplerenone 25 MG Oral Tablet"), NotChecked("no body weight recorded in the last 365 days")
                with { SummaryEnds = "eplerenone 25 MG Oral Tablet: kidney function (creatinine clearance) not checked: no body weight in the last 365 days" }),
        ["dabigatran, creatinine clearance 17"] = new(() => Man(85).Lab("2160-0", 2.5m, "mg/dL", 30).Lab("29463-7", 55, "kg", 30),
            Sign("1037042", "dabigatran etexilate 150 MG Oral Capsule"), Contraindicated("avoid: creatinine clearance 17 mL/min")),
        ["potassium chloride, potassium 5.4"] = new(() => Man().Egfr(70).Potassium(5.4m), Sign("8591", "potassium chloride 20 MEQ Extended Release Oral Tablet"),
            Contraindicated("contraindicated: potassium 5.4 mmol/L")),
        ["potassium chloride, potassium 4.0"] = new(() => Man().Egfr(70).Potassium(4.0m), Sign("8591", "potassium chloride 20 MEQ Extended Release Oral Tablet"), null),

        // ---- allergies and intolerances
        ["amoxicillin, allergy to penicillin G (RxNorm, class)"] = new(() => Man(50).Egfr(80).Allergy(Rx, "7980", "Penicillin G"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            Allergy("allergy to Penicillin G recorded")),
        ["amoxicillin, allergy to penicillin (SNOMED CT)"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            Allergy("Allergy to penicillin recorded")),
        ["amoxicillin, allergy as text only"] = new(() => Man(50).Egfr(80).Allergy(text: "Penicillins"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            Allergy("is one of the penicillins")),
        ["amoxicillin, allergy to amoxicillin (ingredient)"] = new(() => Man(50).Egfr(80).Allergy(Sct, "294505008", "Allergy to amoxicillin"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            Allergy("contains amoxicillin")),
        ["amoxicillin, penicillin allergy refuted"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin", verification: "refuted"),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), null),
        ["amoxicillin, penicillin allergy unconfirmed"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin", verification: "unconfirmed"),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), Allergy("Allergy to penicillin recorded (unconfirmed)")),
        ["amoxicillin, penicillin allergy inactive"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin", clinicalStatus: "inactive"),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), null),
        ["amoxicillin, penicillin allergy without clinical status"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin", clinicalStatus: null),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), Allergy("Allergy to penicillin recorded")),
        ["cephalexin, penicillin allergy (cross-reaction)"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin"), Sign("2231", "cephalexin 500 MG Oral Capsule"),
            Allergy("cross-reactivity is low", Info)),
        ["lisinopril, allergy to enalapril (ACE-inhibitor class)"] = new(() => Man(50).Allergy(Rx, "3827", "enalapril"), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            Allergy("is one of the ACE inhibitors")),
        ["losartan, allergy to lisinopril (cross-reaction)"] = new(() => Man(50).Allergy(Rx, "29046", "lisinopril"), Sign("52175", "losartan potassium 50 MG Oral Tablet"),
            Allergy("angioedema recurs rarely on ARBs", Info)),
        ["metformin, penicillin allergy"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin"), Sign(Metformin, MetforminName), null),
        ["metformin, an allergy nobody can read"] = new(() => Man(50).Egfr(80).Allergy("http://hospital.example.org/allergens", "A-77"), Sign(Metformin, MetforminName),
            NotChecked("which HealthRec cannot compare with medicines")),
        ["metformin, allergy to mould (not a medicine)"] = new(() => Man(50).Egfr(80).Allergy(Sct, "419474003", "Allergy to mould", category: "food", criticality: "low"),
            Sign(Metformin, MetforminName), null),
        ["metformin, allergies not sent"] = new(() => Man(50).Egfr(80), Sign(Metformin, MetforminName),
            NotChecked("allergies not checked: the allergy list could not be read"), PrefetchOnly: true),
        ["co-trimoxazole, allergy to sulfa drugs (text)"] = new(() => Man(50).Egfr(80).Allergy(text: "Sulfa drugs"),
            Sign("10831", "sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet"), Allergy("is one of the sulfonamide antibiotics")),
        ["ibuprofen, allergy to NSAIDs (text)"] = new(() => Man(50).Egfr(80).Allergy(text: "NSAIDs"), Sign("310965", "Ibuprofen 200 MG Oral Tablet"), Allergy("is one of the NSAIDs")),
        ["amoxicillin, allergy recorded by a bare RxNorm product code"] = new(() => Man(50).Egfr(80).Allergy(Rx, "308182"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            NotChecked("which HealthRec cannot compare with medicines")),
        // Named by its code system (ATC N02AA01, "morphine"): comparable by name though in no class HealthRec has.
        ["amoxicillin, allergy to morphine by ATC code and name"] = new(() => Man(50).Egfr(80).Allergy("http://www.whocc.no/atc", "N02AA01", "morphine"),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), null),
        ["morphine sulfate, allergy to morphine by ATC code and name"] = new(() => Man(50).Egfr(80).Allergy("http://www.whocc.no/atc", "N02AA01", "morphine"),
            Sign("892494", "morphine sulfate 15 MG Oral Tablet"), Allergy("is named 'morphine'")),
        ["amoxicillin, allergy as the text 'PCN'"] = new(() => Man(50).Egfr(80).Allergy(text: "PCN"), Sign("723", "amoxicillin 500 MG Oral Capsule"),
            Allergy("is one of the penicillins")),
        // "No known drug allergy" is a record that there is none: no card, not an allergy "that cannot be compared".
        ["amoxicillin, no known drug allergy (SNOMED CT)"] = new(() => Man(50).Egfr(80).Allergy(Sct, "409137002", "No known drug allergy", text: "NKDA", category: null),
            Sign("723", "amoxicillin 500 MG Oral Capsule"), null),
        ["amoxicillin, no known allergies (IPS)"] = new(() => Man(50).Egfr(80).Allergy("http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips", "no-known-allergies",
            "No known allergies", category: null), Sign("723", "amoxicillin 500 MG Oral Capsule"), null),
        ["acetaminophen, allergy to acetaminophen (by name)"] = new(() => Man(50).Allergy(Rx, "161", "Acetaminophen"), Sign("313782", "Acetaminophen 325 MG Oral Tablet"),
            Allergy("is named 'acetaminophen'")),

        // ---- interactions with what is taken or signed beside
        ["lisinopril, on losartan (dual RAAS blockade)"] = new(() => Man(60).Egfr(80).Medication("52175", "losartan potassium 50 MG Oral Tablet", 200),
            Sign("29046", "lisinopril 10 MG Oral Tablet"), Interaction("contraindicated with losartan potassium 50 MG Oral Tablet")),
        ["lisinopril signed with losartan"] = new(() => Man(60).Egfr(80), Sign("29046", "lisinopril 10 MG Oral Tablet", ("52175", "losartan potassium 50 MG Oral Tablet")),
            Interaction("contraindicated with losartan potassium 50 MG Oral Tablet")),
        ["losartan, on spironolactone (potassium)"] = new(() => Man(60).Egfr(80).Potassium(4.5m).Medication("9997", "spironolactone 25 MG Oral Tablet", 200),
            Sign("52175", "losartan potassium 50 MG Oral Tablet"), Caution("caution with spironolactone 25 MG Oral Tablet")),
        ["ibuprofen, on lisinopril and hydrochlorothiazide (triple whammy)"] = new(() => Man(60).Egfr(80).Medication("29046", "lisinopril 10 MG Oral Tablet", 300)
            .Medication("316049", "Hydrochlorothiazide 25 MG", 300), Sign("310965", "Ibuprofen 200 MG Oral Tablet"), Interaction("'triple whammy'")),
        // Partners whose names do not fit the summary: the first is named, and how many more (all are in the detail).
        ["lisinopril, on naproxen and hydrochlorothiazide with long names (triple whammy)"] = new(() => Man(60).Egfr(80)
            .Medication("849574", "Naproxen sodium 220 MG Oral Tablet [Aleve], over the counter", 30).Medication("316049", "Hydrochlorothiazide 25 MG Oral Tablet, each morning", 300),
            Sign("29046", "lisinopril 10 MG Oral Tablet"), Interaction("'triple whammy'")
                with { SummaryEnds = "lisinopril 10 MG Oral Tablet: avoid with Naproxen sodium 220 MG Oral Tablet [Aleve], over the counter and 1 more (+1 more)" }),
        ["simvastatin, on clarithromycin"] = new(() => Man(60).Medication("21212", "clarithromycin 500 MG Oral Tablet", 3), Sign("36567", "simvastatin 40 MG Oral Tablet"),
            Interaction("contraindicated with clarithromycin 500 MG Oral Tablet")),
        ["clarithromycin, on simvastatin"] = new(() => Man(60).Medication("36567", "simvastatin 40 MG Oral Tablet", 300), Sign("21212", "clarithromycin 500 MG Oral Tablet"),
            Interaction("contraindicated with simvastatin 40 MG Oral Tablet")),
        ["atorvastatin, on itraconazole"] = new(() => Man(60).Medication("28031", "itraconazole 100 MG Oral Capsule", 3), Sign("83367", "atorvastatin 40 MG Oral Tablet"),
            Caution("caution with itraconazole 100 MG Oral Capsule")),
        ["ibuprofen, on warfarin"] = new(() => Man(60).Egfr(80).Medication("855332", "Warfarin Sodium 5 MG Oral Tablet", 300), Sign("310965", "Ibuprofen 200 MG Oral Tablet"),
            Interaction("avoid with Warfarin Sodium 5 MG Oral Tablet")),
        ["apixaban, on aspirin"] = new(() => Man(60).Medication("1191", "aspirin 81 MG Oral Tablet", 300), Sign("1364430", "apixaban 5 MG Oral Tablet"),
            Caution("caution with aspirin 81 MG Oral Tablet")),
        ["spironolactone, on potassium chloride"] = new(() => Man(60).Egfr(80).Potassium(4.5m).Medication("8591", "potassium chloride 20 MEQ Extended Release Oral Tablet", 300),
            Sign("9997", "spironolactone 25 MG Oral Tablet"), Interaction("avoid with potassium chloride 20 MEQ Extended Release Oral Tablet")),
        ["aliskiren, on lisinopril"] = new(() => Man(60).Medication("29046", "lisinopril 10 MG Oral Tablet", 300), Sign("325646", "aliskiren 150 MG Oral Tablet"),
            Interaction("avoid with lisinopril 10 MG Oral Tablet")),
        ["simvastatin, on gemfibrozil"] = new(() => Man(60).Medication("4719", "gemfibrozil 600 MG Oral Tablet", 300), Sign("36567", "simvastatin 40 MG Oral Tablet"),
            Interaction("avoid with gemfibrozil 600 MG Oral Tablet")),
        ["lisinopril, on a medicine nothing identifies"] = new(() => Man(60).UnnamedMedication(30), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            NotChecked("1 medicine(s) on the record could not be identified")),

        // ---- pregnancy
        ["lisinopril, pregnancy on the problem list"] = new(() => Woman().Condition("77386006", "Pregnancy", 60), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            Contraindicated("contraindicated: pregnancy on the problem list since")),
        ["lisinopril, pregnancy status pregnant"] = new(() => Woman().Coded("82810-3", "77386006", 20), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            Contraindicated("contraindicated: pregnancy status 'pregnant'")),
        ["lisinopril, pregnancy status unknown"] = new(() => Woman().Coded("82810-3", "261665006", 20), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            NotChecked("pregnancy not checked: Pregnancy status recorded as unknown on")),
        ["lisinopril, sex not recorded"] = new(() => new PatientFixture("unknown", 30).Visit(20), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            NotChecked("sex is not recorded as female or male, so pregnancy cannot be ruled out")),
        ["lisinopril, woman of 30, nothing recorded"] = new(() => Woman(), Sign("29046", "lisinopril 10 MG Oral Tablet"), null),
        ["lisinopril, pregnancy status not pregnant"] = new(() => Woman().Coded("82810-3", "60001007", 20), Sign("29046", "lisinopril 10 MG Oral Tablet"), null),
        ["lisinopril, old pregnancy never closed"] = new(() => Woman().Condition("72892002", "Normal pregnancy", 700), Sign("29046", "lisinopril 10 MG Oral Tablet"), null),
        ["atorvastatin, pregnant"] = new(() => Woman().Condition("77386006", "Pregnancy", 60), Sign("83367", "atorvastatin 40 MG Oral Tablet"), Contraindicated("avoid: pregnancy")),
        ["hydrochlorothiazide, pregnant"] = new(() => Woman().Condition("77386006", "Pregnancy", 60), Sign("316049", "Hydrochlorothiazide 25 MG"), Caution("caution: pregnancy")),
        ["warfarin, pregnant"] = new(() => Woman().Condition("77386006", "Pregnancy", 60), Sign("855332", "Warfarin Sodium 5 MG Oral Tablet"),
            Contraindicated("contraindicated: pregnancy")),

        // ---- conditions
        ["atorvastatin, cirrhosis"] = new(() => Man(60).Condition("19943007", "Cirrhosis of liver", 400), Sign("83367", "atorvastatin 40 MG Oral Tablet"),
            Contraindicated("contraindicated: liver disease on the problem list")),
        ["ibuprofen, heart failure"] = new(() => Man(60).Egfr(80).Condition("84114007", "Heart failure", 400), Sign("310965", "Ibuprofen 200 MG Oral Tablet"),
            Contraindicated("avoid: heart failure on the problem list")),

        // ---- duplicate therapy
        ["simvastatin, on atorvastatin"] = new(() => Man(60).Medication("83367", "atorvastatin 20 MG Oral Tablet", 300), Sign("36567", "simvastatin 40 MG Oral Tablet"),
            new ExpectedCard("order-duplicate", Warning, "duplicate therapy with atorvastatin 20 MG Oral Tablet")),
        ["metformin, already on metformin"] = new(() => Man(60).Egfr(80).Medication(Metformin, MetforminName, 300), Sign(Metformin, MetforminName),
            Caution("already taken or ordered")),
        // The session's list is built once and each draft checked against it less itself: the same medicine ordered
        // twice is still seen beside its twin (and a single order is never its own duplicate: see the rows above).
        ["metformin ordered twice in one session"] = new(() => Man(60).Egfr(80), p => [p.Draft(Metformin, MetforminName), p.Draft(Metformin, MetforminName)],
            Caution("already taken or ordered")),

        // ---- what the order names
        ["a draft with a local code only"] = new(() => Man(60).Egfr(80), p => [p.Draft(new CodeableConcept("http://hospital.example.org/formulary", "F-10293"))],
            NotChecked("not checked: the medicine could not be identified")),
        ["metformin by reference to a contained Medication, eGFR 24"] = new(() => Man().Egfr(24), p => [p.DraftByReference("6809", "metformin 500 MG Oral Tablet")],
            Contraindicated("contraindicated: eGFR 24 mL/min/1.73 m²")),
        ["metformin named in text only, eGFR 24"] = new(() => Man().Egfr(24), p => [p.Draft(new CodeableConcept { Text = "Metformin 500mg tablet" })],
            Contraindicated("contraindicated: eGFR 24 mL/min/1.73 m²")),
        ["acetaminophen, nothing against it"] = new(() => Man(60), Sign("313782", "Acetaminophen 325 MG Oral Tablet"), null),
        // A bare product code (RxNorm SCD 308182, amoxicillin 250 MG capsule) says nothing HealthRec can read of what it
        // contains: for a patient allergic to penicillin, silence would pass an amoxicillin order.
        ["amoxicillin by product code only, penicillin allergy"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin"),
            p => [p.Draft(new CodeableConcept(Rx, "308182"))], NotChecked("308182, a code HealthRec's terminology does not list, and no name")),
        // A bare ingredient code is identified, and the card names the ingredient it was checked as.
        ["amoxicillin by ingredient code only, penicillin allergy"] = new(() => Man(50).Egfr(80).Allergy(Sct, "91936005", "Allergy to penicillin"),
            p => [p.Draft(new CodeableConcept(Rx, "723"))], Allergy("amoxicillin (RxNorm 723) is one of the penicillins")),
        ["lisinopril, on a medicine by product code only"] = new(() => Man(60).Medication("308182", display: null, 30), Sign("29046", "lisinopril 10 MG Oral Tablet"),
            NotChecked("1 medicine(s) on the record could not be identified")),
    };
}
