using System.Collections.Immutable;

namespace HealthRec.ML.Tests;

public sealed class OutcomeTests
{
    private static readonly DateTimeOffset Index = new(2018, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static OutcomeDefinition Default(string id) =>
        OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology).Single(d => d.Id == id);

    private static PatientRecordBuilder Patient(int birthYear = 1960)
    {
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(birthYear, 6, 1), Sex = Sex.Female, HasDemographics = true };
        builder.Add(new EncounterEntry(Index.AddYears(-2), null, "AMB"));
        return builder;
    }

    private static ConditionEntry Condition(string group, DateTimeOffset onset) =>
        new("http://snomed.info/sct", "1", [group], onset, null, "active", "confirmed");

    [Fact]
    public void GivenTheDefaultDefinitions_WhenLoaded_ThenTheFourOutcomesAreThere()
    {
        var definitions = OutcomeFiles.Load(Repo.Path_("models/outcomes"), Repo.Terminology);

        Assert.Equal(["ascvd-10y", "ckd-5y", "hba1c-1y", "t2d-5y"], definitions.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.Equal(OutcomeKind.Regression, definitions.Single(d => d.Id == "hba1c-1y").Kind);
        Assert.True(definitions.Single(d => d.Id == "ascvd-10y").PooledCohortBaseline);
    }

    [Theory]
    [InlineData("""{"id":"x","title":"X","target":{"conditionGroups":["no-such-group"]},"horizonDays":365}""", "unknown condition group 'no-such-group'")]
    [InlineData("""{"id":"x","title":"X","target":{"lab":{"analyte":"unobtainium","below":1}},"horizonDays":365}""", "unknown analyte 'unobtainium'")]
    [InlineData("""{"id":"x","title":"X","target":{},"horizonDays":365}""", "needs target.conditionGroups, target.lab, target.death, target.encounterClasses or target.procedureGroups")]
    [InlineData("""{"id":"x","title":"X","target":{"encounterClasses":["IMP"]},"horizonDays":30,"landmarks":{"at":"discharge"}}""", "landmarks.encounterClasses go with")]
    [InlineData("""{"id":"x","title":"X","target":{"conditionGroups":["t2d"]}}""", "horizonDays must be positive")]
    [InlineData("""{"id":"x","title":"X","target":{"conditionGroups":["t2d"]},"horizonDays":365,"colour":"red"}""", "colour")]
    [InlineData("""{"id":"x y","title":"X","target":{"conditionGroups":["t2d"]},"horizonDays":365}""", "id 'x y'")]
    [InlineData("""{"id":"x","title":"X","kind":"regression","target":{"conditionGroups":["t2d"]}}""", "needs target.value")]
    public void GivenABadDefinition_WhenParsed_ThenTheErrorNamesTheFileAndTheProblem(string json, string expected)
    {
        var ex = Assert.Throws<OutcomeDefinitionException>(() => OutcomeDefinition.Parse(json, "mine.json", Repo.Terminology));

        Assert.StartsWith("mine.json: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTwoFilesWithTheSameId_WhenLoaded_ThenTheDuplicateIsNamed()
    {
        var folder = Directory.CreateTempSubdirectory("healthrec-outcomes-");
        using var removed = folder.DeletedAtEnd();
        const string Json = """{"id":"same","title":"X","target":{"conditionGroups":["t2d"]},"horizonDays":365}""";
        File.WriteAllText(Path.Combine(folder.FullName, "a.json"), Json);
        File.WriteAllText(Path.Combine(folder.FullName, "b.json"), Json);

        var ex = Assert.Throws<OutcomeDefinitionException>(() => OutcomeFiles.Load(folder.FullName, Repo.Terminology));

        Assert.Contains("'same' is defined twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenTypeTwoDiabetesCases_WhenLabelled_ThenEligibilityEventAndCensoringFollowTheDefinition()
    {
        var labeler = new OutcomeLabeler(Default("t2d-5y"));

        var incident = Patient();
        incident.Add(Condition("t2d", Index.AddYears(2)));
        incident.Add(new EncounterEntry(Index.AddYears(6), null, "AMB"));
        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, Index.AddYears(2)), labeler.Label(incident.Build(), Index));

        var prevalent = Patient();
        prevalent.Add(Condition("t2d", Index.AddYears(-1)));
        Assert.Equal(LabelStatus.NotAtRisk, labeler.Label(prevalent.Build(), Index).Status);

        var followed = Patient();
        followed.Add(new EncounterEntry(Index.AddYears(6), null, "AMB"));
        followed.Add(Condition("t2d", Index.AddYears(7)));
        Assert.Equal(LabelStatus.Negative, labeler.Label(followed.Build(), Index).Status);

        var lost = Patient();
        lost.Add(new EncounterEntry(Index.AddYears(3), null, "AMB"));
        Assert.Equal(LabelStatus.Censored, labeler.Label(lost.Build(), Index).Status);

        var died = Patient();
        died.DeceasedAt = Index.AddYears(2);
        died.Add(new EncounterEntry(Index.AddYears(1), null, "AMB"));
        // Death without the event is a competing event: a negative, not a censoring.
        Assert.Equal(new OutcomeLabel(LabelStatus.Negative, FollowedUntil: Index.AddYears(2), Died: true), labeler.Label(died.Build(), Index));

        // With the data's end known, a living patient is followed to it, or to three years after their last contact.
        var dataEnd = Index.AddYears(10);
        var withEnd = new OutcomeLabeler(Default("t2d-5y"), dataEnd);
        Assert.Equal(Index.AddYears(3).AddDays(1095), withEnd.Label(lost.Build(), Index).FollowedUntil);
        Assert.Equal(LabelStatus.Negative, withEnd.Label(lost.Build(), Index).Status);
        var seenOnce = Patient();
        seenOnce.Add(new EncounterEntry(Index.AddYears(1), null, "AMB"));
        Assert.Equal(new OutcomeLabel(LabelStatus.Censored, FollowedUntil: Index.AddYears(1).AddDays(1095)), withEnd.Label(seenOnce.Build(), Index));
        Assert.Equal(Index.AddYears(5).AddDays(10), new OutcomeLabeler(Default("t2d-5y"), Index.AddYears(5).AddDays(10)).FollowedUntil(lost.Build()));

        var byLab = Patient();
        byLab.Add("hba1c", new Measurement(Index.AddDays(100), 6.7, false));
        byLab.Add("hba1c", new Measurement(Index.AddDays(300), 6.9, false));
        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, Index.AddDays(300)), labeler.Label(byLab.Build(), Index));

        var child = Patient(birthYear: 2005);
        Assert.Equal(LabelStatus.NotAtRisk, labeler.Label(child.Build(), Index).Status);
    }

    /// <summary>All-cause death within five years: a site's definition in a file, as issue 27 asked for it.</summary>
    internal static OutcomeDefinition Death() => OutcomeDefinition.Parse(
        """{"id":"death-5y","title":"Death within 5 years","target":{"death":true},"horizonDays":1826,"population":{"minAge":18,"maxAge":90}}""",
        "death-5y.json", Repo.Terminology);

    [Fact]
    public void GivenDeathAsTheOutcome_WhenLabelled_ThenDeathWithinTheHorizonIsTheEventNotACompetingOne()
    {
        var labeler = new OutcomeLabeler(Death());

        var died = Patient();
        died.DeceasedAt = Index.AddYears(2);
        died.Add(new EncounterEntry(Index.AddYears(1), null, "AMB"));
        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, Index.AddYears(2)), labeler.Label(died.Build(), Index));

        var diedLater = Patient();
        diedLater.DeceasedAt = Index.AddYears(6);
        Assert.Equal(LabelStatus.Negative, labeler.Label(diedLater.Build(), Index).Status);

        var diedBefore = Patient();
        diedBefore.DeceasedAt = Index.AddDays(-1);
        Assert.Equal(LabelStatus.NotAtRisk, labeler.Label(diedBefore.Build(), Index).Status);

        var lost = Patient();
        lost.Add(new EncounterEntry(Index.AddYears(3), null, "AMB"));
        Assert.Equal(LabelStatus.Censored, labeler.Label(lost.Build(), Index).Status);

        // The same death is a competing event for an outcome that is not death: a negative there.
        Assert.Equal(new OutcomeLabel(LabelStatus.Negative, FollowedUntil: Index.AddYears(2), Died: true), new OutcomeLabeler(Default("t2d-5y")).Label(died.Build(), Index));
    }

    [Fact]
    public void GivenACauseSpecificDeathOutcome_WhenLabelled_ThenOnlyARecordedCauseInTheGroupsIsTheEvent()
    {
        var labeler = new OutcomeLabeler(OutcomeDefinition.Parse(
            """{"id":"cv-death-5y","title":"Cardiovascular death within 5 years","target":{"death":true,"deathCauses":["ascvd","heart-failure"]},"horizonDays":1826}""",
            "cv-death.json", Repo.Terminology));
        PatientRecordBuilder Died(params string[][] causes)
        {
            var builder = Patient();
            builder.DeceasedAt = Index.AddYears(2);
            foreach (var cause in causes)
            {
                builder.AddDeathCause(cause);
            }

            return builder;
        }

        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, Index.AddYears(2)), labeler.Label(Died(["heart-failure"]).Build(), Index));
        // Another recorded cause competes: a negative, as any death is for a non-death outcome.
        Assert.Equal(new OutcomeLabel(LabelStatus.Negative, FollowedUntil: Index.AddYears(2), Died: true), labeler.Label(Died(Array.Empty<string>()).Build(), Index));
        // No recorded cause: whether it was the event is unknown, so the patient is censored at death.
        Assert.Equal(new OutcomeLabel(LabelStatus.Censored, FollowedUntil: Index.AddYears(2)), labeler.Label(Died().Build(), Index));

        Assert.Contains("target.deathCauses go with target.death: true", Assert.Throws<OutcomeDefinitionException>(() => OutcomeDefinition.Parse(
            """{"id":"x","title":"X","target":{"conditionGroups":["t2d"],"deathCauses":["ascvd"]},"horizonDays":365}""", "x.json", Repo.Terminology)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAdmissions_WhenLabelledForReadmission_ThenEachDischargeIsAnIndexDateAndOnlyAnAdmissionWithin30DaysCounts()
    {
        var definition = OutcomeDefinition.Parse("""
            { "id": "readmission-30d", "title": "Readmission within 30 days of discharge",
              "population": { "minAge": 18 }, "target": { "encounterClasses": ["IMP"] }, "horizonDays": 30,
              "landmarks": { "at": "discharge", "encounterClasses": ["IMP"], "maxPerPatient": 3 } }
            """, "readmission.json", Repo.Terminology);
        var discharged = Index.AddDays(5);
        var record = Patient();
        record.Add(new EncounterEntry(Index, discharged, "IMP"));
        record.Add(new EncounterEntry(discharged.AddDays(10), null, "AMB"));              // a clinic visit is not a readmission
        record.Add(new EncounterEntry(discharged.AddDays(29), discharged.AddDays(33), "IMP")); // readmitted on day 29
        record.Add(new EncounterEntry(discharged.AddDays(33 + 31), discharged.AddDays(70), "IMP")); // day 31 after that discharge
        record.Add(new EncounterEntry(discharged.AddDays(400), null, "AMB"));
        var built = record.Build();
        var labeler = new OutcomeLabeler(definition, dataEnd: discharged.AddDays(500));

        var landmarks = labeler.Landmarks(built).ToList();

        Assert.Equal([discharged, discharged.AddDays(33), discharged.AddDays(70)], landmarks);
        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, discharged.AddDays(29)), labeler.Label(built, landmarks[0]));
        Assert.Equal(LabelStatus.Negative, labeler.Label(built, landmarks[1]).Status);
        Assert.Equal(LabelStatus.Negative, labeler.Label(built, landmarks[2]).Status);

        // Died in hospital: no discharge, no index date.
        var died = Patient();
        died.Add(new EncounterEntry(Index, discharged, "IMP"));
        died.DeceasedAt = Index.AddDays(3);
        Assert.Empty(labeler.Landmarks(died.Build()));
    }

    [Fact]
    public void GivenLowEgfrResults_WhenLabelledForCkd_ThenOnlyAConfirmedDeclineCounts_AndAPriorOneExcludes()
    {
        var labeler = new OutcomeLabeler(Default("ckd-5y"));

        var unconfirmed = Patient();
        unconfirmed.Add("egfr", new Measurement(Index.AddDays(100), 55, false));
        unconfirmed.Add("egfr", new Measurement(Index.AddDays(130), 57, false));
        unconfirmed.Add(new EncounterEntry(Index.AddYears(6), null, "AMB"));
        Assert.Equal(LabelStatus.Negative, labeler.Label(unconfirmed.Build(), Index).Status);

        var confirmed = Patient();
        confirmed.Add("egfr", new Measurement(Index.AddDays(100), 55, false));
        confirmed.Add("egfr", new Measurement(Index.AddDays(200), 52, false));
        Assert.Equal(new OutcomeLabel(LabelStatus.Positive, Index.AddDays(200)), labeler.Label(confirmed.Build(), Index));

        var before = Patient();
        before.Add("egfr", new Measurement(Index.AddDays(-300), 50, false));
        before.Add("egfr", new Measurement(Index.AddDays(-100), 48, false));
        Assert.Equal(LabelStatus.NotAtRisk, labeler.Label(before.Build(), Index).Status);
    }

    [Fact]
    public void GivenHbA1cResultsAfterTheIndexDate_WhenLabelledForRegression_ThenTheNearestToOneYearWithinToleranceIsTheTarget()
    {
        var labeler = new OutcomeLabeler(Default("hba1c-1y"));

        var diabetic = Patient();
        diabetic.Add(Condition("t2d", Index.AddYears(-3)));
        diabetic.Add("hba1c", new Measurement(Index.AddDays(200), 7.9, false));
        diabetic.Add("hba1c", new Measurement(Index.AddDays(380), 7.2, false));
        diabetic.Add("hba1c", new Measurement(Index.AddDays(520), 6.8, false));
        Assert.Equal(new OutcomeLabel(LabelStatus.Value, Index.AddDays(380), 7.2), labeler.Label(diabetic.Build(), Index));

        var noResult = Patient();
        noResult.Add(Condition("t2d", Index.AddYears(-3)));
        noResult.Add("hba1c", new Measurement(Index.AddDays(100), 7.0, false));
        Assert.Equal(LabelStatus.Censored, labeler.Label(noResult.Build(), Index).Status);

        var notDiabetic = Patient();
        notDiabetic.Add("hba1c", new Measurement(Index.AddDays(365), 5.4, false));
        Assert.Equal(LabelStatus.NotAtRisk, labeler.Label(notDiabetic.Build(), Index).Status);
    }

    [Fact]
    public void GivenARecordSpanningYears_WhenLandmarksArePlaced_ThenTheyFollowThePolicyAndStopAtTheEndOfFollowUp()
    {
        var labeler = new OutcomeLabeler(Default("t2d-5y"));
        var record = Patient();
        record.Add(new EncounterEntry(Index.AddYears(2).AddDays(10), null, "AMB"));

        var landmarks = labeler.Landmarks(record.Build()).ToImmutableArray();

        // First activity Index-2y; first landmark a year later, then every 730 days, none after the last activity.
        Assert.Equal([Index.AddYears(-2).AddDays(365), Index.AddYears(-2).AddDays(365 + 730)], landmarks);
    }
}
