namespace HealthRec.ML.Tests;

public sealed class PhenotypeTests(GeneratedCohort cohort) : TempFolderTests("healthrec-phenotypes-"), IClassFixture<GeneratedCohort>
{
    [Fact]
    public void GivenTheCohort_WhenPhenotypesAreTrained_ThenKIsTheStatedCriterionsChoice_ProfilesCoverEveryoneAndTheSavedModelAgrees()
    {
        var featurizer = Repo.Featurizer();
        var provenance = new TrainingProvenance("cohort", "00", true, "test", 1, "healthrec-features", "1.0.0");

        var manifest = Phenotypes.PhenotypeTrainer.Train(cohort.Records, featurizer, Repo.Terminology, Folder.FullName, provenance, 1, DateTimeOffset.UnixEpoch);
        var again = Phenotypes.PhenotypeTrainer.Train(cohort.Records, featurizer, Repo.Terminology, Folder.FullName, provenance, 1, DateTimeOffset.UnixEpoch);

        Assert.Equal(Enumerable.Range(3, 6), manifest.Candidates.Select(c => c.K));
        Assert.Equal(manifest.Candidates.MinBy(c => c.DaviesBouldin)!.K, manifest.K);
        var withData = cohort.Records.Where(r => r.LastActivity is not null).ToList();
        Assert.Equal(withData.Count, manifest.Profiles.Sum(p => p.Patients));
        Assert.All(manifest.Profiles, p => Assert.Equal(5, p.Traits.Length));
        Assert.All(manifest.Profiles.SelectMany(p => p.Traits), t => Assert.Contains("overall", t.Text, StringComparison.Ordinal));
        Assert.Equal(manifest.Profiles.Select(p => p.Patients), again.Profiles.Select(p => p.Patients));
        Assert.Equal("v2", again.Version);
        var readable = File.ReadAllText(Path.Combine(Folder.FullName, "phenotypes", "v1", "profiles.md"));
        Assert.Contains(manifest.Profiles[0].Traits[0].Text, readable, StringComparison.Ordinal);
        Assert.Contains("Trained on synthetic patients.", readable, StringComparison.Ordinal);

        var model = Phenotypes.PhenotypeModel.Load(Path.Combine(Folder.FullName, "phenotypes", "v1"));
        var clusters = model.Assign([.. withData.Select(r => featurizer.Featurize(r, r.LastActivity!.Value))]);
        Assert.Equal(manifest.Profiles.Select(p => p.Patients), manifest.Profiles.Select(p => clusters.Count(c => c == p.Id)));
    }
}
