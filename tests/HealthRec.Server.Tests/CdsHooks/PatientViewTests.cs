namespace HealthRec.Server.Tests.CdsHooks;

[Collection(SequentialServers.Name)]
public sealed class PatientViewTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private static JsonObject Example(string relative)
    {
        var path = Path.Combine(TestServices.SharedFolder, "examples", relative);
        var text = File.ReadAllText(path).Trim();
        // The hook pages' examples are the body's "context" member only.
        return (JsonObject)JsonNode.Parse(text.StartsWith('{') ? text : "{" + text + "}")!;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void GivenCardsSerializedOnceForTheAuditTrail_WhenTheBodyIsBuiltFromThem_ThenItIsByteForByteTheResponseSerialized(int count)
    {
        var options = fixture.Server.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        using var resource = System.Text.Json.JsonDocument.Parse("""{"resourceType":"MedicationRequest","status":"draft"}""");
        List<Server.CdsHooks.CdsCard> cards = [.. Enumerable.Range(0, count).Select(i => new Server.CdsHooks.CdsCard($"uuid-{i}", $"Zoë's \"risk\" <{i}>", "warning",
            new Server.CdsHooks.CdsSource("HealthRec") { Url = "https://x.example/models/t2d-5y" })
        {
            Detail = i == 1 ? null : "line\nnext & more",
            Suggestions = i == 2 ? [new("Start metformin", "s-1") { Actions = [new("create", "Draft") { Resource = resource.RootElement.Clone() }] }] : null,
            SelectionBehavior = i == 2 ? "any" : null,
        })];

        var body = Server.CdsHooks.CdsResponse.Body(Server.CdsHooks.CdsResponse.SerializeCards(cards, options));

        Assert.Equal(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Server.CdsHooks.CdsResponse(cards), options), body);
    }

    [Fact]
    public async Task GivenAHighRiskPatientInPrefetch_WhenPatientViewIsCalled_ThenRiskAndRecommendationCardsFollowTheSpecificationAndSayWhatTheyAre()
    {
        var patient = PatientFixture.HighRisk();
        var call = patient.Call(prefetch: patient.Prefetch());

        var body = await Cds.AnsweredAsync(Client, call, Ct);

        var cards = Cds.Cards(body);
        Assert.InRange(cards.Count, 2, 3);
        var ascvd = Cds.Card(cards, "risk-ascvd-10y");
        // No model has beaten PREVENT at the promotion gate: the validated equation answers, with its own terms as reasons.
        // By hand: a 66-year-old man, total cholesterol 248 and HDL 36 mg/dL, systolic 162 mmHg untreated, eGFR 58,
        // diabetes, smoking, no statin.
        var expected = Clinical.Risk.PreventEquations.TenYearRisk(Clinical.Risk.PreventOutcome.Ascvd,
            new Clinical.Risk.PreventInputs(false, 66 + (40 / 365.25), 248, 36, 162, 33.5, 58, false, false, true, true));
        Assert.Equal($"10-year ASCVD risk {Server.CdsHooks.PatientRiskCards.Percent(expected)} (high)", (string)ascvd["summary"]!);
        var detail = (string)ascvd["detail"]!;
        Assert.Contains("not a diagnosis", detail, StringComparison.Ordinal);
        Assert.Contains("PREVENT (AHA 2024), 10-year ASCVD", detail, StringComparison.Ordinal);
        Assert.Contains("C-statistic", detail, StringComparison.Ordinal);
        Assert.Contains("ascvd-10y v5 waits as challenger", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("synthetic", detail, StringComparison.Ordinal);
        Assert.Contains("- systolic pressure 162 mmHg (raises the risk)", detail, StringComparison.Ordinal);
        Assert.Contains("- current smoking (raises the risk)", detail, StringComparison.Ordinal);
        // Beside ASCVD, PREVENT's total-CVD and heart-failure equations for the same patient (heart failure reads BMI 33.5).
        var inputs = new Clinical.Risk.PreventInputs(false, 66 + (40 / 365.25), 248, 36, 162, 33.5, 58, false, false, true, true);
        Assert.Contains($"Validated equations beside it, for other outcomes or horizons (not the same quantity as this estimate): PREVENT (AHA 2024), 10-year total CVD " +
            $"{Server.CdsHooks.PatientRiskCards.Percent(Clinical.Risk.PreventEquations.TenYearRisk(Clinical.Risk.PreventOutcome.TotalCvd, inputs))}; PREVENT (AHA 2024), 10-year heart failure " +
            $"{Server.CdsHooks.PatientRiskCards.Percent(Clinical.Risk.PreventEquations.TenYearRisk(Clinical.Risk.PreventOutcome.HeartFailure, inputs))}.", detail, StringComparison.Ordinal);
        Assert.Matches(@"\n- .+ \((raises|lowers) the risk\)\n", detail);
        Assert.EndsWith("/models/ascvd-10y", (string)ascvd["source"]!["url"]!, StringComparison.Ordinal);

        var recommendations = Cds.Card(cards, "recommendations");
        Assert.Equal("any", (string)recommendations["selectionBehavior"]!);
        var suggestions = recommendations["suggestions"]!.AsArray();
        Assert.InRange(suggestions.Count, 1, 3);
        // HL7 AI Transparency: what the recommender proposes is labelled AI-asserted (AIAST) in its meta.security.
        Assert.All(suggestions.SelectMany(s => s!["actions"]!.AsArray()), a => Assert.Contains(a!["resource"]!["meta"]!["security"]!.AsArray(),
            c => (string)c!["system"]! == "http://terminology.hl7.org/CodeSystem/v3-ObservationValue" && (string)c["code"]! == "AIAST"));
        Assert.Contains("Evidence: [", (string)recommendations["detail"]!, StringComparison.Ordinal);
        Assert.Contains("estimated 10-year ASCVD risk", (string)recommendations["detail"]!, StringComparison.Ordinal);
        // The benefit names what estimated it: the published equation, not a model version.
        Assert.Contains("(an estimate: PREVENT (AHA 2024), 10-year ASCVD, effect from", (string)recommendations["detail"]!, StringComparison.Ordinal);
        var link = recommendations["links"]!.AsArray().Single()!;
        Assert.Equal("smart", (string)link["type"]!);
        Assert.Equal((string)recommendations["uuid"]!, (string)JsonNode.Parse((string)link["appContext"]!)!["card"]!);
        // Most important first: a warning-level risk card leads.
        Assert.Equal("warning", (string)cards[0]!["indicator"]!);

        // Every call is stored with its cards, model versions and where the data came from.
        var hookInstance = (string)call["hookInstance"]!;
        var store = await fixture.Server.StoredCallsAsync(Ct);
        var stored = await store.FindAsync("healthrec-patient-risk", hookInstance, Ct);
        Assert.NotNull(stored);
        Assert.Equal(patient.Id, stored.PatientId);
        Assert.Equal(cards.Count, stored.CardCount);
        Assert.Equal("prefetch", stored.DataSource);
        Assert.Contains("ascvd-10y prevent-ascvd", stored.ModelVersions, StringComparison.Ordinal);
        Assert.Contains("recommender v3", stored.ModelVersions, StringComparison.Ordinal);
        var storedCards = await store.CardsAsync("healthrec-patient-risk", hookInstance, Ct);
        Assert.Equal(cards.Select(c => (string)c!["uuid"]!), storedCards.Select(c => c.CardUuid));
        Assert.Equal(suggestions.Count, storedCards.Single(c => c.Kind == "recommendation").Suggestions.Count);
        // The decision's GuidanceResponse in the audit trail carries the same label: a model ranked what it advised.
        var (guidance, _) = await (await fixture.Server.AuditAsync(Ct)).SearchAsync(new Data.AuditQuery("GuidanceResponse")
        {
            Filters = [new("request", [$"urn:uuid:{hookInstance}"])],
        }, 10, Ct);
        Assert.Contains("\"code\":\"AIAST\"", Assert.Single(guidance).ResourceJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenOnlyDemographics_WhenPatientViewIsCalled_ThenOneInfoCardSaysNoRiskWasEstimatedAndWhyRatherThanAnInventedRiskOrSilence()
    {
        var patient = new PatientFixture("male", 70);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var card = Assert.Single(Cds.Cards(body));
        Assert.Equal("info", (string)card!["indicator"]!);
        Assert.Equal("No risk estimate: no measurement (laboratory result or vital sign) is recorded", (string)card["summary"]!);
        Assert.Equal("risk-not-estimated", (string)card["source"]!["topic"]!["code"]!);
        Assert.Contains("This says nothing about the patient's risk", (string)card["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenOnlyMeasurementsOlderThanThreeYears_WhenPatientViewIsCalled_ThenTheInfoCardNamesTheLatestDate()
    {
        // As a Synthea record ending years ago reads today: the CDS Hooks Sandbox showed "All clear!" for one.
        var patient = new PatientFixture("female", 62).Lab("4548-4", 6.1m, "%", 4 * 365 + 20).BloodPressure(150, 92, 4 * 365 + 20);
        var latest = DateTimeOffset.UtcNow.AddDays(-(4 * 365 + 20)).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var card = Assert.Single(Cds.Cards(body));
        Assert.Equal($"No risk estimate: the latest measurement is from {latest}, more than three years ago", (string)card!["summary"]!);
    }

    [Fact]
    public void GivenAFiveYearEstimateAboveTheValidatedTenYearFigure_WhenShownAlongside_ThenItIsSaidInBold_ButNotWhenBelowIt()
    {
        var qdiabetes = Clinical.Risk.ReferenceModels.All["qdiabetes-t2d"];
        var tenYear = new Clinical.Risk.ReferenceEstimate(qdiabetes, 0.05, [], [], ["the Townsend deprivation score (UK) is not known: taken as 0, the average"], null);
        static ML.Serving.RiskPrediction Estimate(string outcome, double estimate, Clinical.Risk.ReferenceEstimate beside) =>
            new(outcome, outcome, "v5", Clinical.Outcomes.OutcomeKind.Binary, estimate, "high", 0.1, [], "held-out patients") { Alongside = [beside] };
        var above = Estimate("t2d-5y", 0.146, tenYear);
        var below = Estimate("t2d-5y", 0.03, tenYear);
        var other = Estimate("ascvd-10y", 0.146, tenYear);

        Assert.Equal("Validated equations beside it, for other outcomes or horizons (not the same quantity as this estimate): QDiabetes-2018, 10-year type 2 diabetes 5% " +
            "(it lacks: the Townsend deprivation score (UK) is not known: taken as 0, the average). **This estimate is higher than the validated QDiabetes-2018, 10-year " +
            "type 2 diabetes figure**, although the risk over a shorter horizon cannot exceed it: weigh it against the equation before acting.\n\n",
            Server.CdsHooks.PatientRiskCards.Alongside(above));
        Assert.DoesNotContain("higher than", Server.CdsHooks.PatientRiskCards.Alongside(below), StringComparison.Ordinal);
        Assert.DoesNotContain("higher than", Server.CdsHooks.PatientRiskCards.Alongside(other), StringComparison.Ordinal);
        Assert.EndsWith("This estimate is higher than the validated QDiabetes-2018, 10-year type 2 diabetes figure, although the risk over a shorter horizon cannot exceed it: weigh it against the equation before acting.",
            Server.CdsHooks.PatientRiskCards.Beside(above), StringComparison.Ordinal);
    }

    [Fact]
    public void GivenAModelFigureBesideTheEquations_WhenTheyDifferMoreThanTwofold_ThenItIsSaidInBoldOnCardsAndPlainOnThePage()
    {
        var prevent = Clinical.Risk.ReferenceModels.All["prevent-ascvd"];
        var validated = new Clinical.Risk.ReferenceEstimate(prevent, 0.10, [], [], [], null);
        var none = new Clinical.Risk.ReferenceEstimate(prevent, null, ["no HDL cholesterol recorded"], [], [], null);

        Assert.Equal("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives 10%. **This model's estimate is 4 times higher than the validated equation's**: weigh it against the equation before acting. ",
            Server.CdsHooks.PatientRiskCards.ReferenceBeside(0.40, validated));
        Assert.Equal("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives 10%. This model's estimate is 2.5 times lower than the validated equation's: weigh it against the equation before acting. ",
            Server.CdsHooks.PatientRiskCards.ReferenceBeside(0.04, validated, markdown: false));
        Assert.Equal("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives 10%. ", Server.CdsHooks.PatientRiskCards.ReferenceBeside(0.15, validated));
        Assert.Equal("The validated equation (PREVENT (AHA 2024), 10-year ASCVD) gives no figure for this patient: no HDL cholesterol recorded. ",
            Server.CdsHooks.PatientRiskCards.ReferenceBeside(0.15, none));
    }

    [Fact]
    public async Task GivenAChild_WhenPatientViewIsCalled_ThenOneCardSaysTheSuggestionsAreForAdultsRatherThanSuggestingAdultMedicines()
    {
        // Adult thresholds would fire on these values (LDL 200, pressure 150/95, smoking); the catalog is adult guidance.
        var patient = new PatientFixture("male", 9)
            .Lab("2089-1", 200, "mg/dL", 30).Lab("2093-3", 280, "mg/dL", 30).Lab("2085-9", 40, "mg/dL", 30)
            .BloodPressure(150, 95, 30).Smoker(30).Visit(30);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var card = Assert.Single(Cds.Cards(body))!;
        Assert.Equal("recommendations", Cds.Topic(card));
        Assert.Equal("No suggestions: HealthRec follows adult guidelines (18 and over)", (string)card["summary"]!);
        Assert.Equal("info", (string)card["indicator"]!);
        Assert.Null(card["suggestions"]);
        Assert.Contains("this patient is 9: none are made", (string)card["detail"]!, StringComparison.Ordinal);
        Assert.Contains("no estimate is given for this patient", (string)card["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenADiabeticPatientWithEveryKidneyInput_WhenPatientViewIsCalled_ThenCkdPcAnswersWithTheDiabetesEquationAndSaysWhatItAssumed()
    {
        // By hand (age in completed years): a 62-year-old woman with type 2 diabetes on metformin, HbA1c 8.2 %, eGFR 68, BMI 29, 128/76 mmHg
        // untreated, no cardiovascular disease, smoking not recorded (taken as never), albumin/creatinine 3 mg/g (used as 5).
        var patient = new PatientFixture("female", 62)
            .Condition("44054006", "Diabetes mellitus type 2", 900).Medication("6809", "metformin", 300)
            .Lab("4548-4", 8.2m, "%", 20).Lab("33914-3", 68, "mL/min/{1.73_m2}", 20).Lab("9318-7", 3, "mg/g", 20).Lab("39156-5", 29m, "kg/m2", 20)
            .BloodPressure(128, 76, 20).Visit(20);

        var ckd = Cds.Card(Cds.Cards(await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct)), "risk-ckd-5y");

        var expected = Clinical.Risk.CkdPcEquations.FiveYearRisk(new Clinical.Risk.CkdPcInputs(true, 62, false, 68, false, false, false, 29, 5,
            new Clinical.Risk.CkdPcDiabetes(8.2, Clinical.Risk.DiabetesTreatment.Oral)));
        Assert.Equal($"5-year risk of CKD (eGFR < 60) {Server.CdsHooks.PatientRiskCards.Percent(expected)} (high)", (string)ckd["summary"]!);
        var detail = (string)ckd["detail"]!;
        Assert.Contains("CKD-PC (Nelson 2019), 5-year incident eGFR below 60", detail, StringComparison.Ordinal);
        Assert.Contains("Bands: high from the outcome's decision threshold (50%)", detail, StringComparison.Ordinal);
        Assert.Contains("ckd-5y v5 waits as challenger", detail, StringComparison.Ordinal);
        Assert.Contains("HbA1c 8.2 % (raises the risk)", detail, StringComparison.Ordinal);
        Assert.Contains("Smoking status not recorded: taken as never smoked", detail, StringComparison.Ordinal);
        Assert.Contains("urine albumin/creatinine 3 mg/g used as 5, the lowest the equation takes", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenPrediabetes_WhenPatientViewIsCalled_ThenTheDiabetesCardGivesQDiabetesTenYearFigureBesideIt_AndWhatItAssumed()
    {
        // By hand: a 55-year-old man with HbA1c 6.2 % (44 mmol/mol), BMI 34, treated hypertension (lisinopril), a statin and a
        // family history of diabetes coded on his record; smoking not recorded (taken as never).
        var patient = new PatientFixture("male", 55)
            .Condition("38341003", "Hypertensive disorder", 900).Condition("160303001", "Family history: Diabetes mellitus", 900)
            .Medication("29046", "lisinopril", 300).Medication("83367", "atorvastatin", 300)
            .Lab("4548-4", 6.2m, "%", 20).Lab("39156-5", 34m, "kg/m2", 20).BloodPressure(132, 82, 20).Visit(20);

        var t2d = Cds.Card(Cds.Cards(await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct)), "risk-t2d-5y");

        var expected = Clinical.Risk.QDiabetesEquations.TenYearRisk(new Clinical.Risk.QDiabetesInputs(false, 55, 34, (6.2 - 2.152) / 0.09148)
        {
            TreatedHypertension = true, Statin = true, FamilyHistory = true,
        });
        var detail = (string)t2d["detail"]!;
        Assert.Contains("Validated equations beside it, for other outcomes or horizons (not the same quantity as this estimate): " +
            $"QDiabetes-2018, 10-year type 2 diabetes {Server.CdsHooks.PatientRiskCards.Percent(expected)} (it lacks: ", detail, StringComparison.Ordinal);
        Assert.Contains("the Townsend deprivation score (UK) is not known: taken as 0, the average", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("no family history of diabetes coded", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("times higher than the validated", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenACholesterolOutsidePreventsRange_WhenPatientViewIsCalled_ThenTheCardSaysNotEstimatedAndWhyRatherThanExtrapolating()
    {
        var patient = new PatientFixture("male", 60)
            .Lab("2093-3", 340, "mg/dL", 30).Lab("2085-9", 40, "mg/dL", 30).Lab("33914-3", 80, "mL/min/{1.73_m2}", 30)
            .BloodPressure(150, 90, 30).Smoker(30).Visit(30);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var ascvd = Cds.Card(Cds.Cards(body), "risk-ascvd-10y");
        Assert.StartsWith("10-year ASCVD risk: not estimated (total cholesterol 340 mg/dL is outside 130–320 mg/dL", (string)ascvd["summary"]!, StringComparison.Ordinal);
        Assert.Equal("info", (string)ascvd["indicator"]!);
        var detail = (string)ascvd["detail"]!;
        Assert.Contains("PREVENT (AHA 2024), 10-year ASCVD answers for this outcome and gives no number", detail, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"\d+(\.\d)?%", (string)ascvd["summary"]!);
    }

    [Theory]
    [InlineData("mL/min", "- eGFR 70 mL/min/1.73 m² (reported in mL/min and read as mL/min/1.73 m²")]
    [InlineData(null, "- eGFR ")]
    public async Task GivenAnEgfrNotAsReported_WhenPreventUsesIt_ThenTheCardSaysHowItWasRead(string? egfrUnit, string expected)
    {
        // An eGFR in mL/min (read under the documented equivalence), or none but a creatinine (computed, CKD-EPI 2021).
        var patient = new PatientFixture("male", 62)
            .Lab("2093-3", 230, "mg/dL", 30).Lab("2085-9", 38, "mg/dL", 30).BloodPressure(156, 92, 30).Smoker(30).Visit(30);
        patient = egfrUnit is null ? patient.Lab("2160-0", 1.1m, "mg/dL", 30) : patient.Lab("33914-3", 70, egfrUnit, 30);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var detail = (string)Cds.Card(Cds.Cards(body), "risk-ascvd-10y")["detail"]!;
        var read = detail[detail.IndexOf("How its inputs were read:", StringComparison.Ordinal)..];
        Assert.Contains(expected, read, StringComparison.Ordinal);
        Assert.Contains(egfrUnit is null ? "computed by HealthRec from serum creatinine 1.1 mg/dL with the CKD-EPI 2021 equation" : "the two differ by body surface area/1.73", read, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GivenAnOldLipidPanelAndNoRecentResults_WhenPatientViewIsCalled_ThenTheCardNamesTheStaleInputAndSaysAsOfItsData()
    {
        // Lipids 7.1 years ago (older than PREVENT's 5-year window, within twice it); everything else 500 days ago.
        var patient = new PatientFixture("male", 64)
            .Lab("2093-3", 240, "mg/dL", 2600).Lab("2085-9", 38, "mg/dL", 2600).Lab("33914-3", 70, "mL/min/{1.73_m2}", 500)
            .BloodPressure(158, 92, 500).Smoker(500).Visit(500);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var ascvd = Cds.Card(Cds.Cards(body), "risk-ascvd-10y");
        Assert.Matches(@"^10-year ASCVD risk \d+(\.\d)?% \((intermediate|high)\)$", (string)ascvd["summary"]!);
        var detail = (string)ascvd["detail"]!;
        var lacks = detail[detail.IndexOf("What this estimate lacks:", StringComparison.Ordinal)..];
        Assert.Contains("- Total cholesterol from 7.1 years ago, older than the 5-year window", lacks, StringComparison.Ordinal);
        Assert.Contains("- HDL cholesterol from 7.1 years ago, older than the 5-year window", lacks, StringComparison.Ordinal);
        Assert.Contains("**As of ", detail, StringComparison.Ordinal);
        Assert.Contains("the newest result it used is 1.4 years old", detail, StringComparison.Ordinal);
        // Stale inputs are not reasons for the risk: the reasons come before what the estimate lacks.
        Assert.True(detail.IndexOf("What the equation weighs most", StringComparison.Ordinal) < detail.IndexOf("What this estimate lacks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenTheSpecificationsExampleCall_WhenSentAsPublished_ThenItIsRefusedBecauseItsFhirServerIsPlainHttp()
    {
        var example = Example("cds-hooks-2.0/02-example.json");
        example["hook"] = "patient-view";

        var (status, body, text) = await Cds.PatientViewAsync(Client, example, Ct);

        Assert.True(status == 400, text);
        Assert.Contains("'fhirServer' must use https", (string)body!["detail"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cds-hooks-2.0/02-example.json", "patient-view", "healthrec-patient-risk")]
    [InlineData("hooks/STU1-examples/patient-view/01-examples.json", "patient-view", "healthrec-patient-risk")]
    [InlineData("hooks/STU1-examples/order-sign/01-example-r4.json", "order-sign", "healthrec-order-sign")]
    [InlineData("hooks/STU1-examples/order-select/01-example-r4.json", "order-select", "healthrec-order-select")]
    public async Task GivenTheSpecificationsExamples_WhenCalledWithTheFhirTestServer_ThenEachIsRead412NamingTheUnknownPatient(string file, string hook, string service)
    {
        // The examples' patient 1288992 is not on the FHIR test server: every key is read from it, and without the
        // Patient nothing can be checked (the order examples' drafts included). That is said with 412 naming the patient;
        // an empty list of cards would read as "checked, all clear" (it did, until cards were read on outside data).
        var example = Example(file);
        example["hook"] = hook;
        example["hookInstance"] = Guid.NewGuid().ToString();
        example["fhirServer"] = TestServices.FhirBaseUrl.AbsoluteUri.TrimEnd('/');
        example.Remove("fhirAuthorization");

        var (status, body, text) = await Cds.PostAsync(Client, $"/cds-services/{service}", example, Ct);

        Assert.True(status == 412, text);
        Assert.Equal(["patient (no Patient/1288992 in the prefetch or on the FHIR server)"], body!["missing"]!.AsArray().Select(m => (string)m!));
    }

    [Fact]
    public async Task GivenTheDiscoveryDocument_WhenItsObservationTemplateIsRead_ThenItAsksForEveryLoincCodeTheFeaturesRead()
    {
        var discovery = JsonNode.Parse(await Client.GetStringAsync(new Uri("/cds-services", UriKind.Relative), Ct))!;
        var risk = discovery["services"]!.AsArray().Single(s => (string)s!["id"]! == "healthrec-patient-risk")!;
        var template = (string)risk["prefetch"]!["observations"]!;
        var asked = template[(template.IndexOf("code=", StringComparison.Ordinal) + 5)..].Split(',').Select(c => c.Split('|')[1]).ToHashSet(StringComparer.Ordinal);

        var analytes = JsonNode.Parse(File.ReadAllText(Path.Combine(TestServices.RepositoryRoot, "data", "terminology", "analytes.json")))!;
        var read = new[] { "analytes", "panels", "coded" }.SelectMany(list => analytes[list]!.AsArray())
            .SelectMany(a => a!["codes"]!.AsArray().Select(c => (string)c!))
            .Select(token => token.Split('|')).Where(t => t[0] == "http://loinc.org").Select(t => t[1])
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(read.Order(StringComparer.Ordinal), asked.Order(StringComparer.Ordinal));
        foreach (var service in discovery["services"]!.AsArray())
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)service!["usageRequirements"]));
            Assert.Equal(8, service["prefetch"]!.AsObject().Count);
            Assert.Equal("AllergyIntolerance?patient={{context.patientId}}", (string)service["prefetch"]!["allergies"]!);
        }
    }

    [Fact]
    public async Task GivenAModelCardLink_WhenFollowed_ThenItIsTheModelCardOfTheVersionInUse()
    {
        var response = await Client.GetAsync(new Uri("/models/ascvd-10y", UriKind.Relative), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/markdown", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("ascvd-10y", text, StringComparison.Ordinal);
        // PREVENT answers for ASCVD: its card says what it is, where it comes from and how it was validated.
        Assert.Contains("# Model card: PREVENT (AHA 2024), 10-year ASCVD", text, StringComparison.Ordinal);
        Assert.Contains("Circulation 2024;149:430–449", text, StringComparison.Ordinal);
        Assert.Contains("0.794", text, StringComparison.Ordinal);
        Assert.Contains("- Ages 30–79, total cholesterol 130–320 mg/dL", text, StringComparison.Ordinal);
        // CKD-PC answers for CKD: its own card, its own ranges and limits, none of PREVENT's.
        var ckd = await Client.GetStringAsync(new Uri("/models/ckd-5y", UriKind.Relative), Ct);
        Assert.Contains("# Model card: CKD-PC (Nelson 2019), 5-year incident eGFR below 60 (ckd-5y, ckdpc-egfr60)", ckd, StringComparison.Ordinal);
        Assert.Contains("JAMA 2019;322:2104–2114", ckd, StringComparison.Ordinal);
        Assert.Contains("- Ages 20–80, BMI 20–40 kg/m²", ckd, StringComparison.Ordinal);
        Assert.Contains("The race term is never applied", ckd, StringComparison.Ordinal);
        Assert.DoesNotContain("cholesterol", ckd, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await Client.GetAsync(new Uri("/models/nonsense", UriKind.Relative), Ct)).StatusCode);
    }
}
