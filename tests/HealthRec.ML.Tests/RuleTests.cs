namespace HealthRec.ML.Tests;

public sealed class RuleTests
{
    private static readonly DateTimeOffset At = new(2021, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RuleVocabulary Vocabulary() => new(
        Repo.Featurizer().Names.ToHashSet(StringComparer.Ordinal),
        Repo.Terminology.ConditionGroups,
        Repo.Terminology.MedicationClasses);

    private static RecordRuleContext Patient(double egfr, bool diabetic, bool onStatin, Sex sex = Sex.Female)
    {
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1960, 1, 1), Sex = sex, HasDemographics = true };
        if (!double.IsNaN(egfr))
        {
            builder.Add("egfr", new Measurement(At.AddDays(-30), egfr, false));
        }

        if (diabetic)
        {
            builder.Add(new ConditionEntry("http://snomed.info/sct", "44054006", ["t2d"], At.AddYears(-2), null, "active", "confirmed"));
        }

        if (onStatin)
        {
            builder.Add(new MedicationEntry("http://www.nlm.nih.gov/research/umls/rxnorm", "83367", "atorvastatin", ["statin"], At.AddYears(-1), null, "active", MedicationSource.Request));
        }

        return new RecordRuleContext(builder.Build(), At, Repo.Featurizer());
    }

    [Theory]
    [InlineData("egfr_last < 30", 25, false, false, true)]
    [InlineData("egfr_last < 30", 45, false, false, false)]
    [InlineData("egfr_last < 30 or has(t2d)", 45, true, false, true)]
    [InlineData("has(t2d) and not on(statin) and age_years >= 40", 80, true, false, true)]
    [InlineData("has(t2d) and not on(statin) and age_years >= 40", 80, true, true, false)]
    [InlineData("(egfr_last >= 30 or has(ckd)) and female", 80, false, false, true)]
    [InlineData("ever(t2d) and male", 80, true, false, false)]
    public void GivenARule_WhenEvaluated_ThenItFollowsBooleanLogicOverThePatientsFacts(string text, double egfr, bool diabetic, bool statin, bool expected)
    {
        Assert.Equal(expected, Rule.Compile(text, Vocabulary()).Evaluate(Patient(egfr, diabetic, statin)));
    }

    // What a clinician is told the patient met: every branch of an "or" that holds, each quantity once with its value,
    // a negated term as absent, nothing from a branch that does not hold, and nothing at all when the rule fails.
    [Theory]
    [InlineData("egfr_last < 30 or has(t2d)", 25, true, false, "compare egfr_last <30 =25; has t2d")]
    [InlineData("egfr_last < 30 or has(t2d)", 45, true, false, "has t2d")]
    [InlineData("egfr_last < 30 or has(t2d)", 45, false, false, "")]
    [InlineData("age_years >= 40 and age_years <= 75 and has(t2d)", 45, true, false, "compare age_years >=40 =61; has t2d")]
    [InlineData("has(t2d) and not on(statin)", 45, true, false, "has t2d; not on statin")]
    [InlineData("not egfr_last < 30 and female", 45, false, false, "not compare egfr_last <30 =45; female ")]
    [InlineData("not (has(t2d) or on(statin)) and egfr_last > 40", 45, false, false, "not has t2d; not on statin; compare egfr_last >40 =45")]
    [InlineData("(has(t2d) and egfr_last < 60) or (has(t2d) and on(statin))", 45, true, true, "has t2d; compare egfr_last <60 =45; on statin")]
    public void GivenARuleThatHolds_WhenAskedWhatWasMet_ThenItListsTheTermsOfTheBranchesThatHeldWithThePatientsValues(string text, double egfr, bool diabetic,
        bool statin, string expected)
    {
        var met = Rule.Compile(text, Vocabulary()).Met(Patient(egfr, diabetic, statin));

        Assert.Equal(expected, Terms(met));
    }

    // A term as the tests read it: "not compare egfr_last <30 =45", "has t2d".
    private static string Terms(IReadOnlyList<RuleTerm> terms) => string.Join("; ", terms.Select(t => (t.Negated ? "not " : "") + (t.Function == "compare"
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"compare {t.Name} {t.Operator}{t.Threshold} ={Math.Floor(t.Value)}")
        : $"{t.Function} {t.Name}")));

    // And what kept a rule from holding: every failing part of an "and", both branches of a failing "or", each as the
    // patient has it; nothing when the rule holds.
    [Theory]
    [InlineData("egfr_last < 30 or has(t2d)", 45, false, false, "not compare egfr_last <30 =45; not has t2d")]
    [InlineData("egfr_last < 30 or has(t2d)", 25, false, false, "")]
    [InlineData("age_years >= 40 and age_years <= 55 and has(t2d)", 45, true, false, "not compare age_years <=55 =61")]
    [InlineData("has(t2d) and not on(statin)", 45, true, true, "on statin")]
    [InlineData("has(t2d) and egfr_last < 30", double.NaN, true, false, "not compare egfr_last <30 =NaN")]
    public void GivenARuleThatFails_WhenAskedWhatWasUnmet_ThenItListsTheFailingTermsAsThePatientHasThem(string text, double egfr, bool diabetic,
        bool statin, string expected)
    {
        var unmet = Rule.Compile(text, Vocabulary()).Unmet(Patient(egfr, diabetic, statin));

        Assert.Equal(expected, Terms(unmet));
    }

    [Theory]
    [InlineData("egfr_last < 30")]
    [InlineData("egfr_last >= 30")]
    [InlineData("egfr_last != 30")]
    public void GivenAMissingValue_WhenCompared_ThenNoComparisonHolds(string text)
    {
        Assert.False(Rule.Compile(text, Vocabulary()).Evaluate(Patient(double.NaN, false, false)));
    }

    [Theory]
    [InlineData("egfr_lst < 30", "unknown feature 'egfr_lst'")]
    [InlineData("has(diabetes)", "unknown condition group 'diabetes'")]
    [InlineData("on(statins)", "unknown medication class 'statins'")]
    [InlineData("egfr_last < ", "a number expected")]
    [InlineData("(has(t2d)", "')' expected")]
    [InlineData("has(t2d) maybe", "unexpected 'maybe'")]
    [InlineData("egfr_last", "a comparison")]
    public void GivenABadRule_WhenCompiled_ThenTheErrorNamesTheProblemAndWhere(string text, string expected)
    {
        var ex = Assert.Throws<RuleException>(() => Rule.Compile(text, Vocabulary()));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"rule '{text}' at ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenARuleNamingSeveralFeaturesTheSchemaLacks_WhenCompiled_ThenTheErrorNamesEachOnceFromTheFirst()
    {
        // A site's schema with the shipped catalog: the error lists every feature the rule needs, not only the first.
        var ex = Assert.Throws<RuleException>(() => Rule.Compile("has(t2d) and (ldl_lst >= 70 or sbp_lst >= 130 or ldl_lst >= 190)", Vocabulary()));

        Assert.Equal(["ldl_lst", "sbp_lst"], ex.UnknownFeatures);
        Assert.Equal("rule 'has(t2d) and (ldl_lst >= 70 or sbp_lst >= 130 or ldl_lst >= 190)' at 15: unknown features 'ldl_lst', 'sbp_lst'", ex.Message);
    }

    [Fact]
    public void GivenTheGuidelinesWorkedExample_WhenARuleReadsThePooledCohortRisk_ThenItIsThePercentTheEquationsGive()
    {
        // 2013 ACC/AHA worked example: white man of 55, total cholesterol 213, HDL 50, SBP 120 untreated, no smoking or
        // diabetes: 5.3 % in the guideline's table (its coefficients, unrounded, give 5.38 %).
        RecordRuleContext Man(bool withHdl)
        {
            var man = new PatientRecordBuilder("m") { BirthDate = new DateOnly(1966, 1, 1), Sex = Sex.Male, HasDemographics = true };
            man.Add("total_cholesterol", new Measurement(At.AddDays(-30), 213, false));
            man.Add("sbp", new Measurement(At.AddDays(-30), 120, false));
            if (withHdl)
            {
                man.Add("hdl", new Measurement(At.AddDays(-30), 50, false));
            }

            return new RecordRuleContext(man.Build(), At, Repo.Featurizer());
        }

        var full = Man(withHdl: true);
        var noHdl = Man(withHdl: false);
        var vocabulary = RuleVocabulary.Of(Repo.Featurizer(), Repo.Terminology);

        Assert.InRange(full.Feature(DerivedValues.PceAscvd10y), 5.25, 5.45);
        Assert.True(Rule.Compile("pce_ascvd_10y >= 5 and pce_ascvd_10y < 5.5", vocabulary).Evaluate(full));
        // Without HDL the equations cannot be computed, and a missing value satisfies no comparison.
        Assert.True(double.IsNaN(noHdl.Feature(DerivedValues.PceAscvd10y)));
        Assert.False(Rule.Compile("pce_ascvd_10y >= 0", vocabulary).Evaluate(noHdl));
        Assert.False(Rule.Compile("pce_ascvd_10y < 100", vocabulary).Evaluate(noHdl));
    }
}
