using System.Collections.Immutable;

namespace HealthRec.Fhir.Tests;

/// <summary>
/// Property: whatever a timeline holds, adding facts dated after the index date never changes the feature vector
/// at that date. Checked over seeded random timelines covering every analyte, condition group and medication class.
/// </summary>
public sealed class NoFutureDataTests
{
    [Fact]
    public void GivenRandomTimelines_WhenFactsAfterTheIndexDateAreAdded_ThenTheFeatureVectorIsUnchanged()
    {
        var random = new Random(20261129);
        var featurizer = Ingestion.Featurizer;
        var terminology = Ingestion.Terminology;
        var analytes = terminology.Analytes.Select(a => (a.Id, a.PlausibleMin, a.PlausibleMax))
            .Concat(terminology.CodedAnalytes.Select(c => (c.Id, 0.0, 2.0))).ToList();
        var groups = terminology.ConditionGroups.ToList();
        var classes = terminology.MedicationClasses.ToList();
        var start = new DateTimeOffset(2005, 1, 1, 0, 0, 0, TimeSpan.Zero);

        for (var trial = 0; trial < 300; trial++)
        {
            var index = start.AddDays(random.Next(365 * 3, 365 * 18)).AddSeconds(random.Next(86_400));
            DateTimeOffset Before() => index.AddSeconds(-random.Next(0, 86_400 * 365 * 12));
            DateTimeOffset After() => index.AddSeconds(random.Next(1, 86_400 * 365 * 5));

            void Fill(PatientRecordBuilder builder, Func<DateTimeOffset> when, int facts)
            {
                for (var i = 0; i < facts; i++)
                {
                    var (id, min, max) = analytes[random.Next(analytes.Count)];
                    builder.Add(id, new Measurement(when(), min + (random.NextDouble() * (max - min)), random.Next(10) == 0));
                }

                for (var i = 0; i < facts / 10; i++)
                {
                    var onset = when();
                    builder.Add(new ConditionEntry("http://snomed.info/sct", "x", [groups[random.Next(groups.Count)]], onset,
                        random.Next(3) == 0 ? onset.AddDays(random.Next(1, 900)) : null, "active", "confirmed"));
                    var started = when();
                    builder.Add(new MedicationEntry("http://www.nlm.nih.gov/research/umls/rxnorm", "y", null, [classes[random.Next(classes.Count)]],
                        started, random.Next(2) == 0 ? started.AddDays(random.Next(1, 900)) : null, "active", MedicationSource.Request));
                    builder.Add(new EncounterEntry(when(), null, "AMB"));
                }
            }

            var seed = random.Next();
            PatientRecordBuilder Past()
            {
                var saved = random;
                random = new Random(seed);
                var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1950, 3, 1), Sex = Sex.Female };
                Fill(builder, Before, 60);
                random = saved;
                return builder;
            }

            var pastOnly = Past().Build();
            var withFuture = Past();
            Fill(withFuture, After, 60);

            var expected = featurizer.Featurize(pastOnly, index);
            var actual = featurizer.Featurize(withFuture.Build(), index);

            Assert.True(expected.AsSpan().SequenceEqual(actual),
                $"trial {trial}: features differ at {string.Join(", ", featurizer.Names.Where((_, i) => !expected[i].Equals(actual[i])))}");
        }
    }

    [Fact]
    public void GivenAMeasurementExactlyAtTheIndexInstant_WhenFeaturized_ThenItCountsAndOneTickLaterDoesNot()
    {
        var index = new DateTimeOffset(2020, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var builder = new PatientRecordBuilder("p");
        builder.Add("hba1c", new Measurement(index.AddDays(-30), 5.9, false));
        builder.Add("hba1c", new Measurement(index, 6.4, false));
        builder.Add("hba1c", new Measurement(index.AddTicks(1), 9.9, false));

        var vector = Ingestion.Featurizer.Featurize(builder.Build(), index);

        Assert.Equal(6.4f, vector[Ingestion.Featurizer.Names.IndexOf("hba1c_last")], 5);
        Assert.Equal(6.4f, vector[Ingestion.Featurizer.Names.IndexOf("hba1c_max_3y")], 5);
        Assert.Equal(2f, vector[Ingestion.Featurizer.Names.IndexOf("hba1c_count_3y")]);
    }

    [Fact]
    public void GivenMeasurementsOnAStraightLine_WhenTheSlopeIsTaken_ThenItIsTheChangePerYear()
    {
        var index = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var builder = new PatientRecordBuilder("p");
        foreach (var yearsBack in new[] { 4.0, 3.0, 2.0, 1.0, 0.0 })
        {
            builder.Add("egfr", new Measurement(index.AddDays(-yearsBack * 365.25), 80 - (3 * (4 - yearsBack)), false));
        }

        var vector = Ingestion.Featurizer.Featurize(builder.Build(), index);

        Assert.Equal(-3f, vector[Ingestion.Featurizer.Names.IndexOf("egfr_slope_5y")], 4);
        Assert.Equal(68f, vector[Ingestion.Featurizer.Names.IndexOf("egfr_last")], 4);
        Assert.True(float.IsNaN(vector[Ingestion.Featurizer.Names.IndexOf("hba1c_last")]));
        Assert.Equal(1f, vector[Ingestion.Featurizer.Names.IndexOf("hba1c_last_missing")]);
    }

    [Fact]
    public void GivenStatinProductNames_WhenClassified_ThenIntensityFollowsTheAccAhaDoses()
    {
        var terminology = Ingestion.Terminology;
        const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";

        Assert.Equal(["statin", "statin-high-intensity"], terminology.MedicationClassesOf(RxNorm, "259255", "Atorvastatin 80 MG Oral Tablet"));
        Assert.Equal(["statin", "statin-moderate-intensity"], terminology.MedicationClassesOf(RxNorm, "312961", "Simvastatin 20 MG Oral Tablet"));
        Assert.Equal(["statin", "statin-low-intensity"], terminology.MedicationClassesOf(RxNorm, "x", "Simvastatin 10 MG Oral Tablet"));
        Assert.Equal(["metformin"], terminology.MedicationClassesOf(RxNorm, "860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"));
        Assert.Equal(["ace-inhibitor", "ccb"], terminology.MedicationClassesOf(RxNorm, "z", "amlodipine 5 MG / benazepril hydrochloride 10 MG Oral Capsule"));
        Assert.Equal(ImmutableArray<string>.Empty, terminology.MedicationClassesOf(RxNorm, "313782", "Acetaminophen 325 MG Oral Tablet"));
        Assert.Equal(["t2d"], terminology.ConditionGroupsOf("http://hl7.org/fhir/sid/icd-10-cm", "E11.65"));
        Assert.Equal(["ckd"], terminology.ConditionGroupsOf("http://hl7.org/fhir/sid/icd-10-cm", "N183"));
    }
}
