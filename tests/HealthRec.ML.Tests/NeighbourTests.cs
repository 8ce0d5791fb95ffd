namespace HealthRec.ML.Tests;

/// <summary>The treatment history recommenders learn from, and the nearest-neighbour signal, on hand-made examples.</summary>
public sealed class NeighbourTests
{
    private static readonly DateTimeOffset At = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void GivenPrescriptionsAtVisits_WhenTheHistoryIsRead_ThenEachVisitWithNewStartsIsSeenAsThePrescriberSawItAndAFallOfTheResponseAnalyteGradesTwo()
    {
        var medicines = TreatmentHistory.Medicines(CatalogTests.Load(CatalogTests.CommittedJson));
        var visit = At.AddHours(10);
        var later = visit.AddMonths(13);
        var builder = new PatientRecordBuilder("p") { BirthDate = new DateOnly(1960, 1, 1), Sex = Sex.Male, HasDemographics = true };
        builder.Add(new EncounterEntry(visit.AddYears(-2), null, "AMB"));
        builder.Add(new EncounterEntry(visit, visit.AddMinutes(30), "AMB"));
        builder.Add(new EncounterEntry(later, later.AddMinutes(30), "AMB"));
        const string RxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm";
        // At the visit: a statin started, LDL 150 → 100 (−33 %): started and helped.
        builder.Add(new MedicationEntry(RxNorm, "83367", "atorvastatin 20 MG", ["statin", "statin-moderate-intensity"], visit, null, "active", MedicationSource.Request));
        builder.Add("ldl", new Measurement(visit.AddMonths(-1), 150, false));
        builder.Add("ldl", new Measurement(visit.AddMonths(6), 100, false));
        // An ACE inhibitor started, SBP 150 → 149 (−0.7 %): started, not seen to help.
        builder.Add(new MedicationEntry(RxNorm, "29046", "lisinopril", ["ace-inhibitor"], visit, null, "active", MedicationSource.Request));
        builder.Add("sbp", new Measurement(visit.AddMonths(-1), 150, false));
        builder.Add("sbp", new Measurement(visit.AddMonths(4), 149, false));
        // Metformin renewed (taken since last year): not a start. A thiazide at the next visit, 13 months later.
        builder.Add(new MedicationEntry(RxNorm, "6809", "metformin", ["metformin"], visit.AddYears(-1), visit, "completed", MedicationSource.Request));
        builder.Add(new MedicationEntry(RxNorm, "6809", "metformin", ["metformin"], visit, null, "active", MedicationSource.Request));
        builder.Add(new MedicationEntry(RxNorm, "5487", "hydrochlorothiazide", ["thiazide"], later, null, "active", MedicationSource.Request));
        var record = builder.Build();

        var visits = TreatmentHistory.StartVisits(record, medicines, Repo.Featurizer(), max: 5).ToList();
        var first = visits[0];
        Followed Of(VisitPoint v, string id) => v.Followed[Array.FindIndex(medicines, m => m.Id == id)];
        IEnumerable<string> Started(VisitPoint v) => medicines.Where((_, i) => v.Followed[i].Grade > 0).Select(m => m.Id).Order(StringComparer.Ordinal);

        Assert.Equal(2, visits.Count);
        Assert.Equal(new DateTimeOffset(2020, 1, 1, 23, 59, 59, TimeSpan.Zero), first.At);
        Assert.Equal(["ace-inhibitor", "statin-moderate"], Started(first)); // a moderate statin is not a start of the high-intensity item
        Assert.Equal(2, Of(first, "statin-moderate").Grade);
        Assert.Equal(-1 / 3.0, Of(first, "statin-moderate").ResponseChange, 1e-9);
        Assert.Equal(1, Of(first, "ace-inhibitor").Grade);
        Assert.Equal(["thiazide"], Started(visits[1]));
        // The prescriber's view leaves out that day's prescriptions: not yet on the statin, and metformin's renewal gone too.
        Assert.DoesNotContain(first.Record.Medications, m => m.Start >= visit && m.Start < visit.AddDays(1));
        Assert.Contains(record.Medications, m => m.Classes.Contains("statin"));
        Assert.Equal(record.MeasurementsOf("ldl"), first.Record.MeasurementsOf("ldl"));
    }

    [Fact]
    public void GivenFourPointsOnAPlane_WhenTheNearestTwoAreAsked_ThenTheyAreTheClosestByStandardizedDistanceAndTheirHistorySumsUp()
    {
        // Two columns with very different spreads: standardizing makes them count equally.
        float[][] points = [[0, 0], [1, 100], [10, 0], [10, 1000]];
        Followed[][] followed =
        [
            [new(2, -0.4), Followed.Nothing],
            [new(1, -0.01), new(1, double.NaN)],
            [Followed.Nothing, new(2, -0.2)],
            [Followed.Nothing, Followed.Nothing],
        ];
        var index = NeighbourIndex.Build(points, followed, groups: [0, 1, 2, 3], items: ["a", "b"], k: 2);

        // Near the origin: points 0 and 1 (point 2 is 10 away on a column whose standard deviation is ~5.8).
        var near = index.Score([0.5f, 50]);
        Assert.Equal((2, 2, 1), (near[0].Neighbours, near[0].Started, near[0].Helped));
        Assert.Equal((-0.4 - 0.01) / 2, near[0].MeanChange, 1e-6); // changes are stored as float
        Assert.Equal(2, near[0].Measured);
        // The mean is said with how many it is over: a start whose analyte was never measured again is not in it.
        Assert.Equal("of the 2 most similar patients in the training population who were started on a medicine, 2 were started on this one; "
            + "LDL cholesterol measured again in 2 of them: changed −21% on average, falling ≥ 5 % in 1", near[0].Text("LDL cholesterol"));
        Assert.Equal(new NeighbourEvidence(2, Started: 1, Helped: 0, MeanChange: double.NaN, Measured: 0), near[1]);
        Assert.Equal("of the 2 most similar patients in the training population who were started on a medicine, 1 was started on this one", near[1].Text("LDL cholesterol"));
        Assert.Equal(0.75, near[0].Score, 1e-12); // (1 helped + ½ started) / 2

        // Leaving out group 0 (the patient's own points, in training) brings the next nearest in.
        var withoutOwn = index.Score([0.5f, 50], excludeGroup: 0);
        Assert.Equal((2, 1, 0), (withoutOwn[0].Neighbours, withoutOwn[0].Started, withoutOwn[0].Helped));
        Assert.Equal(-0.01, withoutOwn[0].MeanChange, 1e-6);
        Assert.Equal(2, withoutOwn[1].Started);

        // A missing value is the mean: it does not pull towards either end of that column.
        Assert.Equal(index.Score([float.NaN, 275]), index.Score([5.25f, 275]));

        // Saved and loaded (without the groups), it answers the same.
        var file = Path.Combine(Path.GetTempPath(), $"healthrec-nn-{Guid.NewGuid():N}.bin.gz");
        try
        {
            index.Save(file);
            var loaded = NeighbourIndex.Load(file);
            Assert.Equal(near, loaded.Score([0.5f, 50]));
            Assert.Equal(["a", "b"], loaded.Items);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
