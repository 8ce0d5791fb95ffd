namespace HealthRec.ML.Tests;

/// <summary>The intervention catalog: validated as a whole, and the hard safety filters that no ranking can override.</summary>
public sealed class CatalogTests
{
    internal static readonly DateTimeOffset At = new(2022, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private const string Snomed = "http://snomed.info/sct";
    private const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";

    private static RuleVocabulary Vocabulary() => RuleVocabulary.Of(Repo.Featurizer(), Repo.Terminology);

    private static HashSet<string> Outcomes() =>
        OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Select(d => d.Id).ToHashSet(StringComparer.Ordinal);

    internal static InterventionCatalog Load(string json) =>
        InterventionCatalogFiles.Parse(json, "catalog.json", Repo.Terminology, Vocabulary(), Outcomes()).WithSafety(Repo.Safety());

    private static readonly Lazy<InterventionCatalog> Committed = new(() => Load(CommittedJson));

    internal static string CommittedJson => File.ReadAllText(Repo.Path_(InterventionCatalogFiles.DefaultFile));

    internal static Intervention Item(string id) => Committed.Value.Items.Single(i => i.Id == id);

    /// <summary>A 58-year-old woman with the given facts at <see cref="At"/>.</summary>
    internal sealed class Patient
    {
        private readonly PatientRecordBuilder _builder = new("p") { BirthDate = new DateOnly(1964, 1, 1), Sex = Sex.Female, HasDemographics = true };

        public Patient BornOn(DateOnly birthDate)
        {
            _builder.BirthDate = birthDate;
            return this;
        }

        public Patient Male()
        {
            _builder.Sex = Sex.Male;
            return this;
        }

        /// <summary>Aged <paramref name="years"/> at <see cref="At"/>.</summary>
        public Patient Aged(int years) => BornOn(DateOnly.FromDateTime(At.UtcDateTime).AddYears(-years).AddDays(-30));

        public Patient With(string analyte, double value, int daysAgo = 30)
        {
            _builder.Add(analyte, new Measurement(At.AddDays(-daysAgo), value, false));
            return this;
        }

        public Patient Has(string group, int daysAgo = 365)
        {
            _builder.Add(new ConditionEntry(Snomed, "1", [group], At.AddDays(-daysAgo), null, "active", "confirmed"));
            return this;
        }

        public Patient Taking(string display, params string[] classes)
        {
            _builder.Add(new MedicationEntry(RxNorm, "1", display, [.. classes], At.AddYears(-1), null, "active", MedicationSource.Request));
            return this;
        }

        public Patient Allergic(string rxnorm, string display, string verification = "confirmed")
        {
            _builder.Add(new AllergyEntry("AllergyIntolerance/a1", [new CodedValue(RxNorm, rxnorm, display)], null, ["medication"], "allergy", "high", "active",
                verification, At.AddYears(-2)));
            return this;
        }

        public PatientRecord Record() => _builder.Build();

        public (RecordRuleContext Context, Func<string, double> DaysSince) Build()
        {
            var record = _builder.Build();
            double DaysSince(string analyte) => record.MeasurementsOf(analyte) is { IsEmpty: false } m ? (At - m[^1].At).TotalDays : double.NaN;
            return (new RecordRuleContext(record, At, Repo.Featurizer()), DaysSince);
        }
    }

    [Fact]
    public void GivenTheCommittedCatalog_WhenLoaded_ThenItCoversTheFourKindsOfInterventionWithEvidenceOnEveryItem()
    {
        var catalog = Load(CommittedJson);

        Assert.True(catalog.Items.Length >= 25, $"{catalog.Items.Length} interventions");
        Assert.Equal(Enum.GetValues<InterventionCategory>(), catalog.Items.Select(i => i.Category).Distinct().Order());
        foreach (var required in new[] { "metformin", "sglt2-inhibitor", "glp1-agonist", "statin-moderate", "statin-high", "ezetimibe", "ace-inhibitor", "arb", "thiazide", "ccb" })
        {
            Assert.Contains(catalog.Items, i => i.Id == required);
        }

        Assert.All(catalog.Items, i =>
        {
            Assert.NotEmpty(i.Evidence);
            Assert.All(i.Evidence, e => Assert.True(e.Url.StartsWith("https://", StringComparison.Ordinal) && e.Citation.Length > 20 && e.Strength.Length > 0, i.Id));
            Assert.False(string.IsNullOrWhiteSpace(i.Indication.Reason), i.Id);
        });
    }

    [Theory]
    [InlineData("metformin", "relatedArtifact", null, "metformin: no evidence")]
    [InlineData("metformin", "productCodeableConcept.coding.0.code", "999999999", "metformin: http://www.nlm.nih.gov/research/umls/rxnorm|999999999")]
    [InlineData("lipid-panel", "code.coding.0.system", "http://example.org/codes", "lipid-panel: unknown code system 'http://example.org/codes'")]
    [InlineData("metformin", "extension.2.valueExpression.expression", "egfr_lst < 30", "metformin: indication: rule 'egfr_lst < 30' at")]
    [InlineData("ezetimibe", "extension.3.valueCode", "no-such-class", "ezetimibe: not-if-taking names unknown medication class 'no-such-class'")]
    [InlineData("statin-high", "intent", "order", "statin-high: intent must be proposal")]
    public void GivenACatalogWithABadItem_WhenLoaded_ThenTheErrorNamesTheItemAndTheProblem(string id, string path, string? value, string expected)
    {
        var bundle = JsonNode.Parse(CommittedJson)!;
        var resource = bundle["entry"]!.AsArray().Select(e => e!["resource"]!).Single(r => (string)r["id"]! == id);
        var parts = path.Split('.');
        var node = resource;
        foreach (var part in parts[..^1])
        {
            node = int.TryParse(part, out var index) ? node![index]! : node![part]!;
        }

        if (value is null)
        {
            node.AsObject().Remove(parts[^1]);
        }
        else if (int.TryParse(parts[^1], out var last))
        {
            node[last] = value;
        }
        else
        {
            node[parts[^1]] = value;
        }

        var ex = Assert.Throws<CatalogException>(() => Load(bundle.ToJsonString()));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Contraindicated => new()
    {
        { "metformin", "eGFR 25" },
        { "metformin-prediabetes", "eGFR 25" },
        { "sglt2-inhibitor", "eGFR 15" },
        { "sglt2-inhibitor", "pregnancy" },
        { "glp1-agonist", "pregnancy" },
        { "statin-moderate", "liver disease" },
        { "statin-moderate", "pregnancy" },
        { "statin-high", "liver disease" },
        { "ace-inhibitor", "pregnancy" },
        { "ace-inhibitor", "on an ARB" },
        { "arb", "pregnancy" },
        { "arb", "on an ACE inhibitor" },
        { "anticoagulant-af", "liver disease" },
    };

    [Fact]
    public void GivenTheCommittedCatalog_WhenLoaded_ThenEachResponseAnalyteCarriesItsTitleForTheReasonsAClinicianReads()
    {
        // "HbA1c measured again in 3 of them", not the analyte's id upper-cased ("HBA1C").
        Assert.Equal(("hba1c", "HbA1c"), (Item("metformin").Response, Item("metformin").ResponseTitle));
        Assert.Equal("LDL cholesterol", Item("statin-high").ResponseTitle);
        Assert.Equal("Systolic blood pressure", Item("ccb").ResponseTitle);
    }

    [Theory]
    [MemberData(nameof(Contraindicated))]
    public void GivenAPatientWhoIsIndicatedButCarriesAContraindication_WhenFiltered_ThenTheItemIsExcludedAndTheReasonSaysWhy(string id, string contraindication)
    {
        // Indicated for every item above: diabetes, hypertension above target, ASCVD, AF, prediabetes with obesity (without
        // the disease a prevention item exists to prevent, which excludes it first).
        var patient = new Patient();
        foreach (var group in new[] { "t2d", "prediabetes", "hypertension", "ckd", "ascvd", "atrial-fibrillation" }.Except(Item(id).Prevents))
        {
            patient.Has(group);
        }

        patient
            .With("sbp", 150).With("bmi", 38).With("ldl", 200).With("uacr", 250).With("egfr", contraindication switch
            {
                "eGFR 25" => 25,
                "eGFR 15" => 15,
                _ => 70,
            });
        _ = contraindication switch
        {
            "pregnancy" => patient.Has("pregnancy", daysAgo: 60),
            "liver disease" => patient.Has("liver-disease"),
            "on an ARB" => patient.Taking("losartan", "arb"),
            "on an ACE inhibitor" => patient.Taking("lisinopril", "ace-inhibitor"),
            _ => patient,
        };
        var (context, daysSince) = patient.Build();
        var item = Item(id);

        Assert.True(item.Indication.Rule.Evaluate(context), $"{id} should be indicated for this patient");
        var exclusion = Committed.Value.Exclude(item, context, daysSince);

        Assert.NotNull(exclusion);
        Assert.StartsWith("contraindicated: ", exclusion.Reason, StringComparison.Ordinal);
        // Without the contraindication the same item passes the hard filters: the exclusion is the contraindication's.
        var clearPatient = new Patient();
        foreach (var group in new[] { "t2d", "prediabetes", "hypertension", "ckd", "ascvd", "atrial-fibrillation" }.Except(item.Prevents))
        {
            clearPatient.Has(group);
        }

        var (clear, clearDays) = clearPatient.With("sbp", 150).With("bmi", 38).With("ldl", 200).With("uacr", 250).With("egfr", 70).With("creatinine", 0.9).With("weight", 80).With("potassium", 4.2).Build();
        Assert.Null(Committed.Value.Exclude(item, clear, clearDays));
    }

    [Fact]
    public void GivenAPatientOnAModerateStatin_WhenFiltered_ThenNoStatinStartIsSuggestedButIntensificationIsWhileLdlStaysHigh()
    {
        var (highLdl, days) = new Patient().Has("t2d").With("ldl", 130).Taking("atorvastatin 20 MG Oral Tablet", "statin", "statin-moderate-intensity").Build();
        var (lowLdl, _) = new Patient().Has("t2d").With("ldl", 80).Taking("atorvastatin 20 MG Oral Tablet", "statin", "statin-moderate-intensity").Build();
        var start = Item("statin-moderate");
        var intensify = Item("statin-high");

        Assert.Equal("already taking a statin", Committed.Value.Exclude(start, highLdl, days)?.Reason);
        Assert.Null(Committed.Value.Exclude(intensify, highLdl, days));
        Assert.True(intensify.Indication.Rule.Evaluate(highLdl));
        Assert.False(intensify.Indication.Rule.Evaluate(lowLdl));
    }

    [Fact]
    public void GivenATestDoneRecently_WhenFiltered_ThenItIsNotSuggestedAgainUntilItIsDue()
    {
        var hba1c = Item("hba1c-test");
        var (recent, recentDays) = new Patient().Has("t2d").With("hba1c", 7.1, daysAgo: 30).Build();
        var (due, dueDays) = new Patient().Has("t2d").With("hba1c", 7.1, daysAgo: 400).Build();
        var (yesterday, yesterdayDays) = new Patient().Has("t2d").With("hba1c", 7.1, daysAgo: 1).Build();
        var (today, todayDays) = new Patient().Has("t2d").With("hba1c", 7.1, daysAgo: 0).Build();

        // The analyte by its terminology title, as the clinician knows it, not its id ("hba1c").
        Assert.Equal("HbA1c measured 30 days ago", Committed.Value.Exclude(hba1c, recent, recentDays)?.Reason);
        Assert.Equal("HbA1c measured 1 day ago", Committed.Value.Exclude(hba1c, yesterday, yesterdayDays)?.Reason);
        Assert.Equal("HbA1c measured today", Committed.Value.Exclude(hba1c, today, todayDays)?.Reason);
        Assert.Null(Committed.Value.Exclude(hba1c, due, dueDays));
    }

    [Fact]
    public void GivenTheCatalog_WhenEachPreventionItemMeetsAPatientWhoHasTheDisease_ThenItIsNeverSuggested()
    {
        var catalog = Committed.Value;
        var prevention = catalog.Items.Where(i => !i.Prevents.IsEmpty).ToList();

        // An item whose indication rests on a precursor of a disease is there to prevent that disease, and must say so.
        var precursors = new Dictionary<string, string>(StringComparer.Ordinal) { ["prediabetes"] = "t2d" };
        foreach (var item in catalog.Items)
        {
            foreach (var (precursor, disease) in precursors)
            {
                var text = item.Indication.Rule.Text;
                if (text.Contains($"has({precursor})", StringComparison.Ordinal) && !text.Contains($"({disease})", StringComparison.Ordinal))
                {
                    Assert.True(item.Prevents.Contains(disease), $"{item.Id} is indicated by {precursor} and must declare that it prevents {disease}");
                }
            }
        }

        Assert.Contains(prevention, i => i.Id == "diabetes-prevention-programme");
        // Each disease in words ("t2d" is an id); a new prevention group needs its words here.
        var words = new Dictionary<string, string>(StringComparer.Ordinal) { ["t2d"] = "type 2 diabetes" };
        foreach (var item in prevention)
        {
            foreach (var group in item.Prevents)
            {
                // Indicated (prediabetes, obesity, borderline HbA1c, young enough), and yet: the disease is already there.
                var (sick, days) = new Patient().Has("prediabetes").Has(group).With("hba1c", 6.0).With("bmi", 38).With("egfr", 90).Build();
                var (atRisk, riskDays) = new Patient().Has("prediabetes").With("hba1c", 6.0).With("bmi", 38).With("egfr", 90).Build();

                Assert.Equal($"already has {words[group]}, which '{item.Title}' is meant to prevent", catalog.Exclude(item, sick, days)?.Reason);
                Assert.DoesNotContain("already has", catalog.Exclude(item, atRisk, riskDays)?.Reason ?? "", StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("confirmed")]
    [InlineData("unconfirmed")]
    public void GivenAnAllergyToAClass_WhenAMedicineOfItIsIndicated_ThenItIsNeverSuggested(string verification)
    {
        var ace = Item("ace-inhibitor");
        var (allergic, days) = new Patient().Has("hypertension").With("sbp", 152).Allergic("3827", "enalapril", verification).Build();
        var (clear, clearDays) = new Patient().Has("hypertension").With("sbp", 152).Build();

        Assert.True(ace.Indication.Rule.Evaluate(allergic));
        Assert.StartsWith("contraindicated: Allergy to enalapril recorded", Committed.Value.Exclude(ace, allergic, days)?.Reason, StringComparison.Ordinal);
        Assert.Contains("is one of the ACE inhibitors", Committed.Value.Exclude(ace, allergic, days)!.Reason, StringComparison.Ordinal);
        Assert.Null(Committed.Value.Exclude(ace, clear, clearDays));
    }

    [Fact]
    public void GivenAMedicineWhoseKidneyCheckCannotBeMade_WhenFiltered_ThenItIsNotSuggestedAndTheReasonSaysWhichInputIsMissing()
    {
        var metformin = Item("metformin");
        var (noKidneyFunction, days) = new Patient().Has("t2d").With("hba1c", 8.1).Build();
        var (stale, staleDays) = new Patient().Has("t2d").With("hba1c", 8.1).With("egfr", 75, daysAgo: 500).Build();
        var (known, knownDays) = new Patient().Has("t2d").With("hba1c", 8.1).With("egfr", 75).Build();

        Assert.Equal("safety not established: kidney function (eGFR) not checked for metformin hydrochloride 500 MG Oral Tablet: no eGFR or serum creatinine recorded",
            Committed.Value.Exclude(metformin, noKidneyFunction, days)?.Reason);
        Assert.Contains("is 500 days old; this check needs one from the last 365 days", Committed.Value.Exclude(metformin, stale, staleDays)?.Reason, StringComparison.Ordinal);
        Assert.Null(Committed.Value.Exclude(metformin, known, knownDays));
    }
}
