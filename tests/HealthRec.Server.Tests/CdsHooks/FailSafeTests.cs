using HealthRec.Clinical.Safety;
using HealthRec.Fhir.Knowledge;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// No check fails open: for every rule of the committed medication-safety knowledge base, a patient on whom the rule fires
/// is built (the rule's own words are on the card); then each input the rule declares is taken away in turn — removed,
/// too old, unreadable — and the card must say the check could not be made, never fall silent. The rules are read from
/// the file, so a rule added tomorrow is tested the same way.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class FailSafeTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private static readonly Lazy<Clinical.Terminology.ClinicalTerminology> Terminology =
        new(() => TerminologyFiles.Load(Path.Combine(TestServices.RepositoryRoot, TerminologyFiles.DefaultFolder)));

    private static readonly Lazy<MedicationKnowledge> Knowledge = new(() => MedicationSafetyFiles.Load(
        Path.Combine(TestServices.RepositoryRoot, MedicationSafetyFiles.DefaultFile), Terminology.Value));

    /// <summary>Every (rule, input, how it is taken away).</summary>
    public static TheoryData<string, string, string> Removals
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var rule in Knowledge.Value.Rules)
            {
                data.Add(rule.Id, "none", "fires");
                foreach (var input in rule.Inputs.Append(SafetyInput.Allergies))
                {
                    foreach (var how in Ways(input))
                    {
                        data.Add(rule.Id, input.ToString(), how);
                    }
                }
            }

            return data;
        }
    }

    private static string[] Ways(SafetyInput input) => input switch
    {
        SafetyInput.Egfr or SafetyInput.Creatinine or SafetyInput.Potassium => ["missing", "stale", "unreadable"],
        SafetyInput.Weight or SafetyInput.Age or SafetyInput.Sex => ["missing"],
        SafetyInput.Pregnancy => ["unknown"],
        SafetyInput.Medications => ["unidentified", "not sent"],
        SafetyInput.Conditions => ["not sent"],
        _ => ["not sent", "unreadable"],
    };

    [Theory]
    [MemberData(nameof(Removals))]
    public async Task GivenARuleThatFires_WhenEachOfItsInputsIsTakenAway_ThenTheCardSaysTheCheckCouldNotBeMade(string ruleId, string input, string how)
    {
        var rule = Knowledge.Value.Rules.Single(r => r.Id == ruleId);
        var facts = Facts.Firing(rule);
        var keys = new List<string> { "patient", "observations", "conditions", "medicationStatements", "medicationRequests", "encounters", "questionnaireResponses", "allergies" };
        switch (input, how)
        {
            case ("none", _):
                break;
            case ("Egfr", "missing"):
                facts = facts with { Egfr = null, Creatinine = null };
                break;
            case ("Egfr", "stale"):
                facts = facts with { EgfrDays = rule.MaxAgeDays + 30, Creatinine = null };
                break;
            case ("Egfr", "unreadable"):
                facts = facts with { EgfrUnit = "mmol/L", Creatinine = null };
                break;
            case ("Creatinine", "missing"):
                facts = facts with { Creatinine = null };
                break;
            case ("Creatinine", "stale"):
                facts = facts with { CreatinineDays = rule.MaxAgeDays + 30 };
                break;
            case ("Creatinine", "unreadable"):
                facts = facts with { CreatinineUnit = "mL/min" };
                break;
            case ("Weight", _):
                facts = facts with { Weight = null };
                break;
            case ("Age", _):
                facts = facts with { Age = null };
                break;
            case ("Sex", _):
                facts = facts with { Gender = "unknown", Pregnant = false, PregnancyStatus = null };
                break;
            case ("Potassium", "missing"):
                facts = facts with { Potassium = null };
                break;
            case ("Potassium", "stale"):
                facts = facts with { PotassiumDays = rule.MaxAgeDays + 30 };
                break;
            case ("Potassium", "unreadable"):
                facts = facts with { PotassiumUnit = "mg/dL" };
                break;
            case ("Pregnancy", _):
                facts = facts with { Pregnant = false, PregnancyStatus = "261665006" };
                break;
            case ("Medications", "unidentified"):
                facts = facts with { Unidentified = true };
                break;
            case ("Medications", _):
                keys.Remove("medicationRequests");
                break;
            case ("Conditions", _):
                keys.Remove("conditions");
                break;
            case ("Allergies", "not sent"):
                keys.Remove("allergies");
                break;
            case ("Allergies", "unreadable"):
                facts = facts with { UnreadableAllergy = true };
                break;
            default:
                throw new InvalidOperationException($"{input} {how}");
        }

        var patient = facts.Build();
        var draft = patient.Draft(facts.Drug.Rxnorm, facts.Drug.Display);
        var call = patient.Call("order-sign", patient.Prefetch(keys), extraContext: new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(draft) });

        var (status, body, text) = await Cds.OrderCheckAsync(fixture.Server.Client, call, Ct);

        if (keys.Count < 8 && how == "not sent" && input != "Allergies")
        {
            // The problem list and the medication lists are needed to answer at all: without them the call is refused,
            // naming what could not be had — an answer the EHR shows as an error, never as "nothing to say".
            Assert.True(status == 412, text);
            Assert.Contains(input == "Conditions" ? "conditions" : "medicationRequests", text, StringComparison.Ordinal);
            return;
        }

        Assert.True(status == 200, text);
        var card = Cds.Cards(body).SingleOrDefault(c => ((string?)c!["detail"] ?? "").Contains($"(draft order MedicationRequest/{draft.Id})", StringComparison.Ordinal));
        Assert.True(card is not null, $"{ruleId}, {input} {how}: no card at all for {facts.Drug.Display}: {text}");
        var detail = (string)card["detail"]!;
        if (input == "none")
        {
            Assert.Contains(Markdown(rule.Text), detail, StringComparison.Ordinal);
            Assert.DoesNotContain("**Not checked**", detail, StringComparison.Ordinal);
            return;
        }

        Assert.Contains("**Not checked**", detail, StringComparison.Ordinal);
        Assert.NotEqual("info", (string)card["indicator"]!);
        Assert.Contains(input switch
        {
            "Egfr" => "kidney function (eGFR) not checked",
            "Creatinine" or "Weight" or "Age" => "kidney function (creatinine clearance) not checked",
            "Sex" when rule.Kind == SafetyRuleKind.Pregnancy => "pregnancy not checked",
            "Sex" => "kidney function (creatinine clearance) not checked",
            "Potassium" => "potassium not checked",
            "Pregnancy" => "pregnancy not checked",
            "Medications" => "interactions and duplicate therapy not fully checked",
            _ => "allerg",
        }, detail, StringComparison.Ordinal);
    }

    private static string Markdown(string text) => Server.CdsHooks.PatientRiskCards.Markdown(text);

    /// <summary>A patient with every input a rule could need present and recent, and what makes one rule fire.</summary>
    private sealed record Facts((string Rxnorm, string Display) Drug)
    {
        public string Gender { get; init; } = "female";

        public int? Age { get; init; } = 34;

        public decimal? Egfr { get; init; } = 70;

        public int EgfrDays { get; init; } = 20;

        public string EgfrUnit { get; init; } = "mL/min/{1.73_m2}";

        public decimal? Creatinine { get; init; } = 1.0m;

        public int CreatinineDays { get; init; } = 20;

        public string CreatinineUnit { get; init; } = "mg/dL";

        public decimal? Weight { get; init; } = 70;

        public decimal? Potassium { get; init; } = 4.4m;

        public int PotassiumDays { get; init; } = 20;

        public string PotassiumUnit { get; init; } = "mmol/L";

        public string? PregnancyStatus { get; init; } = "60001007";

        public bool Pregnant { get; init; }

        public string? ConditionCode { get; init; }

        public IReadOnlyList<(string Rxnorm, string Display)> Taking { get; init; } = [];

        public bool Unidentified { get; init; }

        public bool UnreadableAllergy { get; init; }

        public static Facts Firing(SafetyRule rule)
        {
            var facts = new Facts(Medicine(rule.Drugs));
            var threshold = rule.Threshold;
            double Inside() => threshold!.Below is { } b ? (threshold.AtLeast is { } l ? (l + b) / 2 : b * 0.8)
                : threshold.AtOrBelow is { } ob ? ob * 0.8
                : threshold.Above is { } a ? a + 0.5
                : threshold.AtLeast!.Value + 1;
            return rule.Kind switch
            {
                SafetyRuleKind.Kidney when rule.Measure == KidneyMeasure.Egfr => facts with { Egfr = (decimal)Math.Round(Inside()) },
                // Cockcroft–Gault for a woman of 34 weighing 70 kg: the creatinine that puts her clearance inside the threshold.
                SafetyRuleKind.Kidney => facts with { Creatinine = (decimal)Math.Round((140 - 34) * 70 * 0.85 / (72 * Inside()), 2) },
                SafetyRuleKind.Potassium => facts with { Potassium = (decimal)Inside() },
                SafetyRuleKind.Pregnancy => facts with { Pregnant = true, PregnancyStatus = null },
                SafetyRuleKind.Condition => facts with { ConditionCode = ConditionCodeOf(rule.Condition!) },
                _ => facts with { Taking = [.. rule.With.Select(Medicine)] },
            };
        }

        public PatientFixture Build()
        {
            var patient = new PatientFixture(Gender, Age).Visit(20);
            if (Egfr is { } egfr)
            {
                patient.Lab("33914-3", egfr, EgfrUnit, EgfrDays);
            }

            if (Creatinine is { } creatinine)
            {
                patient.Lab("2160-0", creatinine, CreatinineUnit, CreatinineDays);
            }

            if (Weight is { } weight)
            {
                patient.Lab("29463-7", weight, "kg", 20);
            }

            if (Potassium is { } potassium)
            {
                patient.Lab("2823-3", potassium, PotassiumUnit, PotassiumDays);
            }

            if (PregnancyStatus is { } status)
            {
                patient.Coded("82810-3", status, 20);
            }

            if (Pregnant)
            {
                patient.Condition("77386006", "Pregnancy", 60);
            }

            if (ConditionCode is { } code)
            {
                patient.Condition(code, "condition", 400);
            }

            foreach (var (rxnorm, display) in Taking)
            {
                patient.Medication(rxnorm, display, 100);
            }

            if (Unidentified)
            {
                patient.UnnamedMedication(30);
            }

            if (UnreadableAllergy)
            {
                patient.Allergy("http://hospital.example.org/allergens", "A-77");
            }

            return patient;
        }

        // A medicine of the selector: its first ingredient, else the first ingredient of its first class.
        private static (string Rxnorm, string Display) Medicine(DrugSelector drugs)
        {
            var rxcui = drugs.Ingredients.FirstOrDefault() ?? FirstIngredientOf(drugs.Classes[0]);
            return (rxcui, string.Create(CultureInfo.InvariantCulture, $"{Terminology.Value.IngredientName(rxcui)} 10 MG Oral Tablet"));
        }

        private static string FirstIngredientOf(string medicationClass) =>
            (string)ValueSet("medications.json", $"medication-{medicationClass}")["compose"]!["include"]![0]!["concept"]![0]!["code"]!;

        private static string ConditionCodeOf(string group) =>
            (string)ValueSet("conditions.json", $"condition-{group}")["compose"]!["include"]!.AsArray().First(i => i!["concept"] is not null)!["concept"]![0]!["code"]!;

        private static JsonNode ValueSet(string file, string id) =>
            JsonNode.Parse(File.ReadAllText(Path.Combine(TestServices.RepositoryRoot, "data", "terminology", file)))!["entry"]!.AsArray()
                .Select(e => e!["resource"]!).Single(r => (string)r["id"]! == id);
    }
}
