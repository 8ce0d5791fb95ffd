namespace HealthRec.Server.Tests;

/// <summary>
/// A data scientist's path with a table HealthRec did not generate: scikit-learn's breast-cancer table (Debian's
/// python3-sklearn) as a CSV under a local code system, imported through a mapping file, described by definition files
/// only (docs/examples/breast-cancer), trained with 5-fold cross-validation — and the unused-data report and the
/// demographics-only flag when the definitions do not describe the data.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class YourOwnDataTests() : TempFolderTests("healthrec-own-data-")
{
    private static string Example(string path) => Path.Combine(TestServices.RepositoryRoot, "docs", "examples", "breast-cancer", path);

    private string Here(string path) => Path.Combine(Folder.FullName, path);

    // The table as a CSV, and scikit-learn's 5-fold ROC-AUC for a standardised logistic regression on it.
    private async Task<double> ExportTableAsync()
    {
        var start = new ProcessStartInfo(TestServices.ScikitLearnPython, [Example("export.py"), Here("table.csv")]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, process.ExitCode);
        return (double)JsonNode.Parse(output)!["logistic_auc_mean"]!;
    }

    [Fact]
    public async Task GivenTheBreastCancerTableUnderLocalCodes_WhenImportedAndTrainedWithFiveFolds_ThenTheCrossValidatedAucIsWithin002OfScikitLearn()
    {
        var ct = TestContext.Current.CancellationToken;
        var scikitLearn = await ExportTableAsync();

        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Example("mapping.json"), "--out", Here("fhir")));
        Assert.Equal(569, (await File.ReadAllLinesAsync(Here("fhir/Patient.ndjson"), ct)).Length);
        Assert.Equal(212, (await File.ReadAllLinesAsync(Here("fhir/Condition.ndjson"), ct)).Length);
        Assert.Equal(569 * 30, (await File.ReadAllLinesAsync(Here("fhir/Observation.ndjson"), ct)).Length);

        Assert.Equal(0, await RunAsync("train", "--input", Here("fhir"), "--models", Here("models"), "--outcomes", Example("outcomes"),
            "--features", Example("features.json"), "--terminology", Example("terminology"), "--outcome", "malignant", "--cv", "5", "--seed", "1"));

        var bundle = JsonNode.Parse(await File.ReadAllTextAsync(Here("models/malignant/v1/bundle.json"), ct))!;
        var cv = bundle["crossValidation"]!;
        Assert.Equal(5, (int)cv["folds"]!);
        Assert.Equal(569, cv["patientsPerFold"]!.AsArray().Sum(n => (int)n!));
        var lightgbm = cv["algorithms"]!.AsArray().Single(a => (string)a!["algorithm"]! == "lightgbm")!;
        Assert.Equal(5, lightgbm["perFold"]!.AsArray().Count);
        var auc = (double)lightgbm["mean"]!;
        Assert.True(Math.Abs(auc - scikitLearn) <= 0.02,
            string.Create(CultureInfo.InvariantCulture, $"HealthRec's 5-fold ROC-AUC {auc:0.000} is more than 0.02 from scikit-learn's logistic regression {scikitLearn:0.000}"));
        Assert.False((bool)bundle["demographicsOnly"]!);
        var card = await File.ReadAllTextAsync(Here("models/malignant/v1/model-card.md"), ct);
        Assert.Contains("## Cross-validation (5 folds)", card, StringComparison.Ordinal);
        Assert.Contains("--cv 5", card, StringComparison.Ordinal);
        Assert.Contains("Age any age", card, StringComparison.Ordinal);

        // Evaluated on the data it was trained on: the report says how many patients it learnt from, not only figures.
        var (exitCode, _, errors) = await CaptureAsync("evaluate", "--input", Here("fhir"), "--models", Here("models"), "--outcomes", Example("outcomes"),
            "--features", Example("features.json"), "--terminology", Example("terminology"), "--report", Here("report"), "--catalog", Repo("data/knowledge/interventions.json"));
        Assert.Equal(0, exitCode);
        // The shipped catalog is adult primary care: one line says what it needs that this site's schema lacks, not its every rule.
        Assert.Contains("recommender not evaluated: the intervention catalog (", errors, StringComparison.Ordinal);
        Assert.Contains("(features age_years, bmi_last, egfr_last, hba1c_last, ldl_last, sbp_last, smoking_status, uacr_last; " +
            "outcomes ascvd-10y, ckd-5y, hba1c-1y, t2d-5y)", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("problem(s)", errors, StringComparison.Ordinal);
        var trainedOn = (int)bundle["trainingPatientCount"]!;
        Assert.InRange(trainedOn, 400, 500);
        var html = await File.ReadAllTextAsync(Here("report/index.html"), ct);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"{trainedOn:N0} of the 569 patients evaluated were in malignant v1&#39;s training data"), html, StringComparison.Ordinal);
        Assert.Contains("Cross-validation at training (5 folds)", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheImportedTableWithoutItsDefinitions_WhenFeaturedAndTrained_ThenTheUnreadCodesAreListedAndAModelOnNoneOfItIsFlagged()
    {
        var ct = TestContext.Current.CancellationToken;
        await ExportTableAsync();
        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Example("mapping.json"), "--out", Here("fhir")));
        // The site declared its diagnosis but not its measurements: the shipped analytes read none of them.
        Directory.CreateDirectory(Here("terms"));
        File.Copy(Example("terminology/condition-malignant-breast.json"), Here("terms/condition-malignant-breast.json"));

        Assert.Equal(0, await RunAsync("features", "--input", Here("fhir"), "--terminology", Here("terms"),
            "--schema", Path.Combine(TestServices.RepositoryRoot, "models/feature-schema.json"), "--index-date", "2020-01-06", "--out", Here("out/features.csv")));

        var unread = (await File.ReadAllLinesAsync(Here("out/features.unread-codes.csv"), ct)).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(30, unread.Count);
        Assert.All(unread, u => Assert.Equal(("Observation", "urn:healthrec:example:breast-pathology", "569"), (u[0], u[1], u[^1])));
        Assert.Contains(unread, u => u[2] == "mean-radius" && u[3] == "Mean radius");

        // The measurements are declared now, but the shipped feature schema (HbA1c, lipids, ...) uses none of them: the
        // model learns nothing from the data, and says so.
        Assert.Equal(0, await RunAsync("train", "--input", Here("fhir"), "--models", Here("models"), "--outcomes", Example("outcomes"),
            "--terminology", Example("terminology"), "--features", Path.Combine(TestServices.RepositoryRoot, "models/feature-schema.json"), "--outcome", "malignant"));

        var bundle = JsonNode.Parse(await File.ReadAllTextAsync(Here("models/malignant/v1/bundle.json"), ct))!;
        Assert.True((bool)bundle["demographicsOnly"]!);
        Assert.Contains("Only demographics (age, sex) contribute to this model", await File.ReadAllTextAsync(Here("models/malignant/v1/model-card.md"), ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenTheSitesModelServed_WhenAnEhrCallsPatientView_ThenItsEstimateIsACardAndTheOffCatalogIsSaid()
    {
        var ct = TestContext.Current.CancellationToken;
        await ExportTableAsync();
        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Example("mapping.json"), "--out", Here("fhir")));
        Assert.Equal(0, await RunAsync("train", "--input", Here("fhir"), "--models", Here("models"), "--outcomes", Example("outcomes"),
            "--features", Example("features.json"), "--terminology", Example("terminology"), "--outcome", "malignant"));
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Models:Path"] = Here("models"),
            ["Models:TerminologyPath"] = Example("terminology"),
            ["Models:FeatureSchemaPath"] = Example("features.json"),
            ["Knowledge:OutcomesPath"] = Example("outcomes"),
        }, ct);

        // A malignant patient's record as the EHR would prefetch it, measured yesterday (the table's own date is years old).
        var patientId = (string)JsonNode.Parse((await File.ReadAllLinesAsync(Here("fhir/Condition.ndjson"), ct))[0])!["subject"]!["reference"]!;
        var id = patientId["Patient/".Length..];
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var observations = (await File.ReadAllLinesAsync(Here("fhir/Observation.ndjson"), ct))
            .Where(l => l.Contains($"\"{patientId}\"", StringComparison.Ordinal))
            .Select(l => JsonNode.Parse(l.Replace("2020-01-06", yesterday, StringComparison.Ordinal)))
            .ToList();
        static JsonObject Bundle(IEnumerable<JsonNode?> resources) => new()
        {
            ["resourceType"] = "Bundle", ["type"] = "searchset",
            ["entry"] = new JsonArray([.. resources.Select(r => (JsonNode)new JsonObject { ["resource"] = r })]),
        };
        var request = new JsonObject
        {
            ["hook"] = "patient-view", ["hookInstance"] = Guid.NewGuid().ToString(),
            ["context"] = new JsonObject { ["userId"] = "Practitioner/1", ["patientId"] = id },
            ["prefetch"] = new JsonObject
            {
                ["patient"] = new JsonObject { ["resourceType"] = "Patient", ["id"] = id },
                ["observations"] = Bundle(observations),
                ["conditions"] = Bundle([]), ["medicationStatements"] = Bundle([]), ["medicationRequests"] = Bundle([]),
                ["encounters"] = Bundle([]), ["questionnaireResponses"] = Bundle([]), ["allergies"] = Bundle([]),
            },
        };

        using var response = await server.Client.PostAsync(new Uri("/cds-services/healthrec-patient-risk", UriKind.Relative),
            new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var cards = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["cards"]!.AsArray();
        var risk = cards.Single(c => (string)c!["source"]!["label"]! == "HealthRec malignant v1")!;
        Assert.StartsWith("Malignancy ", (string)risk["summary"]!, StringComparison.Ordinal);
        Assert.Contains("An estimate from a model, not a diagnosis", (string)risk["detail"]!, StringComparison.Ordinal);
        Assert.Contains("What moved this estimate most (what the model learned goes with the outcome, not what changing it would do)",
            (string)risk["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain(" 1 (raises", (string)risk["detail"]!, StringComparison.Ordinal);
        var off = cards.Single(c => (string)c!["summary"]! == "No suggestions: this server's intervention catalog is off")!;
        Assert.Contains("names features or outcomes this server's feature schema", (string)off["detail"]!, StringComparison.Ordinal);

        // `recommend` answers as the server does: the site's estimate, and why there are no suggestions.
        var (exitCode, printed, errors) = await CaptureAsync("recommend", "--json", "--patient", id, "--input", Here("fhir"), "--models", Here("models"),
            "--outcomes", Example("outcomes"), "--features", Example("features.json"), "--terminology", Example("terminology"),
            "--catalog", Repo("data/knowledge/interventions.json"));
        Assert.True(exitCode == 0, errors);
        var recommended = JsonNode.Parse(printed)!;
        Assert.Equal("malignant", (string)recommended["estimates"]!.AsArray().Single()!["outcome"]!);
        Assert.Empty(recommended["recommendations"]!.AsArray());
        Assert.EndsWith("this run's feature schema and outcome definitions do not have (features age_years, bmi_last, egfr_last, hba1c_last, " +
            "ldl_last, sbp_last, smoking_status, uacr_last; outcomes ascvd-10y, ckd-5y, hba1c-1y, t2d-5y), so suggestions are off", (string)recommended["notForPatient"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenGeneratedPatients_WhenDeathAndThirtyDayReadmissionAreTrained_ThenEachIsLabelledAsDefinedAndRegistered()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Equal(0, await RunAsync("synth", "--patients", "4000", "--seed", "11", "--years", "13", "--out", Here("cohort")));

        Assert.Equal(0, await RunAsync("train", "--input", Here("cohort"), "--models", Here("models"),
            "--outcomes", Path.Combine(TestServices.RepositoryRoot, "docs", "examples", "outcomes"), "--outcome", "death-5y", "--outcome", "readmission-30d",
            "--features", Path.Combine(TestServices.RepositoryRoot, "models/feature-schema.json"), "--terminology", Path.Combine(TestServices.RepositoryRoot, "data/terminology")));

        var death = JsonNode.Parse(await File.ReadAllTextAsync(Here("models/death-5y/v1/metrics.json"), ct))!["outcomes"]!["death-5y"]!;
        Assert.True((double)death["roc_auc"]! > 0.7, $"death-5y ROC-AUC {(double)death["roc_auc"]!}");
        // Every index date of the readmission model is a discharge from an inpatient stay the generator wrote; about one
        // in six is followed by another admission within 30 days (the generator's 13–21 %).
        var admissions = (await File.ReadAllLinesAsync(Here("cohort/Encounter.ndjson"), ct)).Count(l => l.Contains("\"code\":\"IMP\"", StringComparison.Ordinal));
        var card = await File.ReadAllTextAsync(Here("models/readmission-30d/v1/model-card.md"), ct);
        Assert.Contains("Index dates: each discharge from an encounter of class IMP, at most 3 per patient.", card, StringComparison.Ordinal);
        var readmission = JsonNode.Parse(await File.ReadAllTextAsync(Here("models/readmission-30d/v1/metrics.json"), ct))!["outcomes"]!["readmission-30d"]!;
        var examples = (int)readmission["n"]! + (int)readmission["n_train"]! + (int)readmission["n_validation"]!;
        Assert.InRange(examples, admissions / 2, admissions);
        Assert.InRange((double)readmission["prevalence"]!, 0.08, 0.30);
    }

    [Fact]
    public async Task GivenATableWithBadCells_WhenImported_ThenEachIsReportedByLineAndColumnAndNothingElseIsLost()
    {
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Here("mapping.json"), """
            {
              "layout": "patient", "system": "urn:site:lab",
              "patient": { "id": "id", "age": "age", "sex": { "column": "sex", "female": ["F"], "male": ["M"] } },
              "date": { "column": "visit" },
              "measurements": [
                { "column": "glucose", "code": "GLU", "unit": "mg/dL" },
                { "column": "smoker", "code": "SMK", "type": "boolean", "true": ["yes"], "false": ["no"] }
              ],
              "label": { "column": "died", "positive": ["1"], "negative": ["0"], "event": { "death": true }, "afterDays": 30 }
            }
            """, ct);
        await File.WriteAllTextAsync(Here("table.csv"), string.Join('\n',
            "id,age,sex,visit,glucose,smoker,died",
            "p1,61,F,2021-03-01,101,no,0",
            "p2,54,M,2021-03-02,abc,yes,1",
            "p3,70,X,2021-03-03,99,maybe,0",
            "p4,48,F,03/04/2021,120,no,0",
            "p5,66,M,2021-03-05,130,no,dead",
            "p 6,59,F,2021-03-06,110,no,0",
            "p7,45,F,2021-03-07,95,no",
            "p8,72,M,2021-03-08,,no,1") + "\n", ct);

        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Here("mapping.json"), "--out", Here("fhir")));

        var problems = (await File.ReadAllLinesAsync(Here("fhir/import-problems.csv"), ct)).Skip(1).Select(l => string.Join('|', l.Split(',')[..2])).ToList();
        Assert.Equal(["3|glucose", "4|sex", "4|smoker", "5|visit", "6|died", "7|id", "8|"], problems);
        var patients = (await File.ReadAllLinesAsync(Here("fhir/Patient.ndjson"), ct)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["p1", "p2", "p3", "p8"], patients.Select(p => (string)p["id"]!));
        Assert.Equal("1960", (string)patients[0]["birthDate"]!);
        Assert.Equal("2021-04-01", (string)patients[1]["deceasedDateTime"]!);
        Assert.Null(patients[2]["gender"]);
        var observations = (await File.ReadAllLinesAsync(Here("fhir/Observation.ndjson"), ct)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["p1 GLU", "p1 SMK", "p2 SMK", "p3 GLU", "p8 SMK"],
            observations.Select(o => $"{((string)o["subject"]!["reference"]!)[8..]} {(string)o["code"]!["coding"]![0]!["code"]!}"));
        Assert.Equal("mg/dL", (string)observations[0]["valueQuantity"]!["code"]!);
        Assert.True((bool)observations[2]["valueBoolean"]!);
    }

    [Fact]
    public async Task GivenAEuropeanExport_WhenImportedWithItsDecimalSeparatorDeclared_ThenCommaDecimalsAreReadAndNothingIsGuessed()
    {
        // Semicolons, decimal commas, a byte-order mark and CRLF line ends, as a spreadsheet writes them.
        var ct = TestContext.Current.CancellationToken;
        const string Mapping = """
            {
              "delimiter": ";", "decimalSeparator": "%SEP%", "system": "urn:site:lab",
              "patient": { "id": "id", "age": "age" },
              "date": { "column": "visit" },
              "measurements": [ { "column": "glucose", "code": "GLU", "unit": "mmol/L" } ]
            }
            """;
        await File.WriteAllTextAsync(Here("table.csv"), "\uFEFFid;age;visit;glucose\r\np1;61,5;2021-03-01;5,6\r\np2;54;2021-03-02;1.234,5\r\np3;70;2021-03-03;6\r\n", ct);

        await File.WriteAllTextAsync(Here("mapping.json"), Mapping.Replace("%SEP%", ",", StringComparison.Ordinal), ct);
        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Here("mapping.json"), "--out", Here("comma")));
        await File.WriteAllTextAsync(Here("mapping.json"), Mapping.Replace("%SEP%", ".", StringComparison.Ordinal), ct);
        Assert.Equal(0, await RunAsync("import", "--table", Here("table.csv"), "--mapping", Here("mapping.json"), "--out", Here("point")));

        var values = (await File.ReadAllLinesAsync(Here("comma/Observation.ndjson"), ct))
            .Select(l => JsonNode.Parse(l)!).Select(o => $"{(string)o["subject"]!["reference"]!} {(decimal)o["valueQuantity"]!["value"]!}").ToList();
        Assert.Equal(["Patient/p1 5.6", "Patient/p3 6"], values);
        Assert.Equal("1960", (string)JsonNode.Parse((await File.ReadAllLinesAsync(Here("comma/Patient.ndjson"), ct))[0])!["birthDate"]!);
        Assert.Contains("'1.234,5' is not a number with the decimal separator ','; left out", await File.ReadAllTextAsync(Here("comma/import-problems.csv"), ct),
            StringComparison.Ordinal);
        // Read with the default '.', the commas are refused and the report says how to declare them.
        Assert.Contains("'5,6' is not a number with the decimal separator '.'; left out (a table that writes decimals with a comma says \"\"decimalSeparator\"\"",
            await File.ReadAllTextAsync(Here("point/import-problems.csv"), ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "date": { "value": "2020-01-01" }, "measurements": [ { "column": "x", "code": "X" } ] }""",
        "$.measurements[0].system", "$.measurements[0].unit: a quantity needs its UCUM unit")]
    [InlineData("""{ "system": "urn:a", "decimalSeparator": ",", "date": { "value": "2020-01-01" }, "measurements": [ { "column": "x", "code": "X", "unit": "mg" } ] }""",
        "$.decimalSeparator: the same character as the delimiter", "give another delimiter")]
    public async Task GivenAMalformedMapping_WhenImported_ThenItExitsWith2NamingThePathInTheFile(string mapping, string expected, string alsoExpected)
    {
        await File.WriteAllTextAsync(Here("table.csv"), "id,x\np1,1\n", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Here("mapping.json"), mapping, TestContext.Current.CancellationToken);

        var (exitCode, _, errors) = await CaptureAsync("import", "--table", Here("table.csv"), "--mapping", Here("mapping.json"), "--out", Here("fhir"));

        Assert.Equal(2, exitCode);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
        Assert.Contains(alsoExpected, errors, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Here("fhir")));
    }
}
