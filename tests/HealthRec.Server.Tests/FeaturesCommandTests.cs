namespace HealthRec.Server.Tests;

// Tests that redirect Console.Out or Console.Error must not run beside any other test: the console is one per process.
[Collection(SequentialServers.Name)]
public sealed class FeaturesCommandTests() : TempFolderTests("healthrec-features-")
{
    [Fact]
    public async Task GivenSyntheaFolder_WhenFeaturesAreWritten_ThenThereIsOneRowPerPatientWithTheSchemaColumns()
    {
        var output = Path.Combine(Folder.FullName, "out", "features.csv");
        var (exitCode, printed, _) = await CaptureAsync(
            "features", "--input", Path.Combine(TestServices.SharedFolder, "data", "synthea"), "--index-date", "2020-12-31",
            "--schema", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"), "--out", output);

        Assert.Equal(0, exitCode);
        var lines = await File.ReadAllLinesAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal(21, lines.Length);
        var header = lines[0].Split(',');
        Assert.Equal(["patient_id", "index_date", "age_years", "sex_female", "hba1c_last", "hba1c_last_missing"], header[..6]);
        var andy = lines.Single(l => l.StartsWith("9afe28dc-7ad5-4e90-b6a6-16123eae98c3,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("2020-12-31T23:59:59Z", andy[1]);
        Assert.Equal("88", andy[Array.IndexOf(header, "age_years")]);
        Assert.StartsWith("6.1095", andy[Array.IndexOf(header, "hba1c_last")], StringComparison.Ordinal);
        // A missing value is an empty cell, never a made-up number.
        Assert.Equal("", andy[Array.IndexOf(header, "phq9_last")]);

        // The summary's share present is the share of non-empty cells; a _missing indicator (a number in every row) is not listed.
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        var hba1c = Array.IndexOf(header, "hba1c_last");
        var share = rows.Count(r => r[hba1c].Length > 0) / (double)rows.Count;
        var summary = printed.Split('\n');
        Assert.Contains(summary, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            $@"^  hba1c_last +{System.Text.RegularExpressions.Regex.Escape(share.ToString("P1", System.Globalization.CultureInfo.InvariantCulture))}\s*$"));
        Assert.True(share < 1, "the test needs a feature absent for some patient");
        Assert.DoesNotContain(summary, l => l.StartsWith("  ", StringComparison.Ordinal) && l.Contains("_missing ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--index-date", "31/12/2020")]
    [InlineData("--input", "/no/such/folder")]
    [InlineData("--schema", "/no/such/schema.json")]
    [InlineData("--input", "fhir:Group/no-such-group/$export")]
    public async Task GivenBadArgument_WhenFeaturesAreRequested_ThenItFailsWithExitCode2AndWritesNothing(string option, string value)
    {
        var output = Path.Combine(Folder.FullName, "features.csv");
        var arguments = new Dictionary<string, string>
        {
            ["--input"] = Path.Combine(TestServices.SharedFolder, "data", "synthea"),
            ["--schema"] = Repo("models/feature-schema.json"),
            ["--terminology"] = Repo("data/terminology"),
            ["--out"] = output,
            // A Bulk Data export the FHIR test server refuses (it has no such group).
            [option] = value.StartsWith("fhir:", StringComparison.Ordinal) ? new Uri(TestServices.FhirBaseUrl, value["fhir:".Length..]).AbsoluteUri : value,
        };
        var root = HealthRecCommandLine.Create((_, _) => Task.FromResult(0));

        var exitCode = await root.Parse(["features", .. arguments.SelectMany(a => new[] { a.Key, a.Value })])
            .InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, exitCode);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task GivenAnUnknownElementHealthRecDoesNotRead_WhenStrict_ThenTheResourceIsRejectedWhileTheFastPathKeepsIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var input = Directory.CreateDirectory(Path.Combine(Folder.FullName, "in")).FullName;
        await File.WriteAllLinesAsync(Path.Combine(input, "all.ndjson"),
        [
            """{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-01-01"}""",
            """{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2020-01-01","valueQuantity":{"value":7.1,"system":"http://unitsofmeasure.org","code":"%"},"madeUp":true}""",
        ], ct);

        async Task<string> HbA1cAsync(params string[] extra)
        {
            var output = Path.Combine(Folder.FullName, $"features{extra.Length}.csv");
            var exitCode = await RunAsync([
                "features", "--input", input, "--schema", Repo("models/feature-schema.json"), "--terminology", Repo("data/terminology"),
                "--index-date", "2020-12-31", "--out", output, .. extra,
            ]);
            Assert.Equal(0, exitCode);
            var lines = await File.ReadAllLinesAsync(output, ct);
            return lines[1].Split(',')[Array.IndexOf(lines[0].Split(','), "hba1c_last")];
        }

        Assert.Equal("7.1", await HbA1cAsync());
        Assert.Equal("", await HbA1cAsync("--strict"));
    }
}
