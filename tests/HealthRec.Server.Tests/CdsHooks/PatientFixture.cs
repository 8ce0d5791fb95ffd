using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// A patient written as an EHR would hold them: FHIR R4 resources with LOINC, SNOMED CT and RxNorm codes and dates
/// relative to today (the services score at the time of the call). Each fixture has its own id, so tests that share
/// the FHIR test server never see each other's patients.
/// </summary>
internal sealed class PatientFixture
{
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private int _next;

    /// <summary>A patient of that gender ("female", "male", or anything else for unknown) and age (null: no birth date).</summary>
    public PatientFixture(string gender, int? age)
    {
        Id = "hr-" + Guid.NewGuid().ToString("N")[..20];
        Resources.Add(new Patient
        {
            Id = Id,
            Gender = gender switch
            {
                "female" => AdministrativeGender.Female,
                "male" => AdministrativeGender.Male,
                _ => AdministrativeGender.Unknown,
            },
            BirthDate = age is { } years ? _now.AddYears(-years).AddDays(-40).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
            Meta = new Meta { Tag = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST")] },
        });
    }

    public string Id { get; }

    public List<Resource> Resources { get; } = [];

    /// <summary>The patient's official name (the SMART app's banner and title show it).</summary>
    public PatientFixture Named(string given, string family)
    {
        Resources.OfType<Patient>().Single().Name = [new HumanName { Use = HumanName.NameUse.Official, Given = [given], Family = family }];
        return this;
    }

    /// <summary>The patient's race as US Core states it: one OMB category (e.g. 2054-5, Black or African American).</summary>
    public PatientFixture Race(string ombCode)
    {
        Resources.OfType<Patient>().Single().Extension.Add(new Extension { Url = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
            Extension = [new Extension("ombCategory", new Coding("urn:oid:2.16.840.1.113883.6.238", ombCode))] });
        return this;
    }

    private ResourceReference Subject => new($"Patient/{Id}");

    private string NextId(string prefix) => $"{Id}-{prefix}{++_next}";

    private FhirDateTime DaysAgo(int days) => new(_now.AddDays(-days));

    /// <summary>A laboratory result; with <paramref name="comparator"/>, a bound as labs report it (an eGFR "&gt;60").</summary>
    public PatientFixture Lab(string loinc, decimal value, string unit, int daysAgo, Quantity.QuantityComparator? comparator = null) =>
        Observed(loinc, daysAgo, o => o.Value = new Quantity { Value = value, Unit = unit, System = "http://unitsofmeasure.org", Code = unit, Comparator = comparator });

    /// <summary>A laboratory result sent as text (valueString), as some interfaces send an eGFR "&gt;60".</summary>
    public PatientFixture LabText(string loinc, string text, int daysAgo) => Observed(loinc, daysAgo, o => o.Value = new FhirString(text));

    public PatientFixture BloodPressure(int systolic, int diastolic, int daysAgo) => Observed("85354-9", daysAgo, o => o.Component =
    [
        new Observation.ComponentComponent { Code = new CodeableConcept("http://loinc.org", "8480-6"), Value = new Quantity(systolic, "mm[Hg]", "http://unitsofmeasure.org") },
        new Observation.ComponentComponent { Code = new CodeableConcept("http://loinc.org", "8462-4"), Value = new Quantity(diastolic, "mm[Hg]", "http://unitsofmeasure.org") },
    ]);

    /// <summary>A coded Observation (e.g. pregnancy status 82810-3 with a SNOMED CT value).</summary>
    public PatientFixture Coded(string loinc, string snomed, int daysAgo) => Observed(loinc, daysAgo, o => o.Value = new CodeableConcept("http://snomed.info/sct", snomed));

    /// <summary>An AllergyIntolerance as an EHR records it; any part may be left out.</summary>
    public PatientFixture Allergy(string? system = null, string? code = null, string? display = null, string? text = null, string? category = "medication",
        string? clinicalStatus = "active", string? verification = "confirmed", string? criticality = "high", string? type = "allergy")
    {
        var allergy = new AllergyIntolerance
        {
            Id = NextId("a"),
            Patient = Subject,
            Code = new CodeableConcept { Text = text },
            RecordedDate = _now.AddYears(-3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        if (system is not null && code is not null)
        {
            allergy.Code.Coding.Add(new Coding(system, code, display));
        }

        if (clinicalStatus is not null)
        {
            allergy.ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", clinicalStatus);
        }

        if (verification is not null)
        {
            allergy.VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", verification);
        }

        if (category is not null)
        {
            allergy.Category = [Hl7.Fhir.Utility.EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceCategory>(category)];
        }

        allergy.Criticality = criticality is null ? null : Hl7.Fhir.Utility.EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceCriticality>(criticality);
        allergy.Type = type is null ? null : Hl7.Fhir.Utility.EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceType>(type);
        Resources.Add(allergy);
        return this;
    }

    /// <summary>An active medicine known only by a local code (no RxNorm, no name): nothing identifies it.</summary>
    public PatientFixture UnnamedMedication(int daysAgo)
    {
        Resources.Add(new MedicationRequest
        {
            Id = NextId("m"),
            Status = MedicationRequest.MedicationrequestStatus.Active,
            Intent = MedicationRequest.MedicationRequestIntent.Order,
            Medication = new CodeableConcept("http://hospital.example.org/formulary", "F-10293"),
            Subject = Subject,
            AuthoredOn = _now.AddDays(-daysAgo).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        return this;
    }

    public PatientFixture Smoker(int daysAgo) => Observed("72166-2", daysAgo, o => o.Value = new CodeableConcept("http://snomed.info/sct", "77176002"));

    public PatientFixture NeverSmoked(int daysAgo) => Observed("72166-2", daysAgo, o => o.Value = new CodeableConcept("http://snomed.info/sct", "266919005"));

    // A final Observation of this LOINC code, so many days ago; the caller gives its value.
    private PatientFixture Observed(string loinc, int daysAgo, Action<Observation> value)
    {
        var observation = new Observation
        {
            Id = NextId("o"),
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", loinc),
            Subject = Subject,
            Effective = DaysAgo(daysAgo),
        };
        value(observation);
        Resources.Add(observation);
        return this;
    }

    public PatientFixture Condition(string snomed, string display, int daysAgo)
    {
        Resources.Add(new Condition
        {
            Id = NextId("c"),
            ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
            Code = new CodeableConcept("http://snomed.info/sct", snomed, display),
            Subject = Subject,
            Onset = DaysAgo(daysAgo),
        });
        return this;
    }

    /// <summary>An active order of an RxNorm code, named by <paramref name="display"/> (null: the bare code, as some feeds send it).</summary>
    public PatientFixture Medication(string rxnorm, string? display, int daysAgo)
    {
        Resources.Add(new MedicationRequest
        {
            Id = NextId("m"),
            Status = MedicationRequest.MedicationrequestStatus.Active,
            Intent = MedicationRequest.MedicationRequestIntent.Order,
            Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", rxnorm, display) { Text = display },
            Subject = Subject,
            AuthoredOn = _now.AddDays(-daysAgo).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        return this;
    }

    public PatientFixture Visit(int daysAgo)
    {
        Resources.Add(new Encounter
        {
            Id = NextId("e"),
            Status = Encounter.EncounterStatus.Finished,
            Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = Subject,
            Period = new Period(DaysAgo(daysAgo), DaysAgo(daysAgo)),
        });
        return this;
    }

    /// <summary>A 66-year-old man who smokes, with type 2 diabetes, hypertension above target and high LDL, on nothing for them.</summary>
    public static PatientFixture HighRisk(string sex = "male") => new PatientFixture(sex, 66)
        .Condition("44054006", "Diabetes mellitus type 2", 900)
        .Condition("38341003", "Hypertensive disorder", 1500)
        .Lab("4548-4", 8.6m, "%", 20).Lab("4548-4", 8.1m, "%", 400)
        .Lab("13457-7", 172, "mg/dL", 20).Lab("2085-9", 36, "mg/dL", 20).Lab("2093-3", 248, "mg/dL", 20).Lab("2571-8", 210, "mg/dL", 20)
        .Lab("33914-3", 58, "mL/min/{1.73_m2}", 20).Lab("2160-0", 1.3m, "mg/dL", 20).Lab("9318-7", 45, "mg/g", 20)
        .Lab("39156-5", 33.5m, "kg/m2", 20).Lab("29463-7", 104, "kg", 20).Lab("2345-7", 168, "mg/dL", 20)
        .BloodPressure(162, 94, 20).BloodPressure(158, 92, 200)
        .Smoker(20).Visit(20).Visit(200).Visit(400);

    /// <summary>A pregnant 33-year-old with hypertension above target, whose record gives the order check something to refuse.</summary>
    public static PatientFixture PregnantWithHypertension() => new PatientFixture("female", 33)
        .Condition("77386006", "Pregnancy", 90)
        .Condition("38341003", "Hypertensive disorder", 60)
        .BloodPressure(152, 96, 10).BloodPressure(148, 94, 40)
        .Lab("33914-3", 105, "mL/min/{1.73_m2}", 30).Lab("39156-5", 27, "kg/m2", 30).Lab("44261-6", 3, "{score}", 30)
        .NeverSmoked(10).Visit(10).Visit(40);

    // ---- what an EHR would send

    /// <summary>The prefetch an EHR computes from the service's templates: each key's data, searchsets as Bundles.</summary>
    public JsonObject Prefetch(IEnumerable<string>? keys = null)
    {
        var all = new Dictionary<string, Func<Resource, bool>>(StringComparer.Ordinal)
        {
            ["patient"] = r => r is Patient,
            ["observations"] = r => r is Observation,
            ["conditions"] = r => r is Condition,
            ["medicationStatements"] = r => r is MedicationStatement,
            ["medicationRequests"] = r => r is MedicationRequest,
            ["encounters"] = r => r is Encounter,
            ["questionnaireResponses"] = r => r is QuestionnaireResponse,
            ["allergies"] = r => r is AllergyIntolerance,
        };
        var prefetch = new JsonObject();
        foreach (var (key, matches) in all.Where(k => keys is null || keys.Contains(k.Key)))
        {
            if (key == "patient")
            {
                prefetch[key] = Json(Resources.OfType<Patient>().Single());
                continue;
            }

            var found = Resources.Where(matches).ToList();
            prefetch[key] = found.Count == 0 ? null : Json(new Bundle
            {
                Type = Bundle.BundleType.Searchset,
                Total = found.Count,
                Entry = [.. found.Select(r => new Bundle.EntryComponent { FullUrl = $"https://ehr.example.org/fhir/{r.TypeName}/{r.Id}", Resource = r })],
            });
        }

        return prefetch;
    }

    public static JsonNode Json(Resource resource) => JsonNode.Parse(FhirJson.Serialize(resource))!;

    /// <summary>A CDS Hooks call for this patient.</summary>
    public JsonObject Call(string hook = "patient-view", JsonObject? prefetch = null, Uri? fhirServer = null, string? accessToken = null,
        JsonObject? extraContext = null)
    {
        var context = new JsonObject { ["userId"] = "Practitioner/example", ["patientId"] = Id };
        foreach (var (name, value) in extraContext ?? [])
        {
            context[name] = value?.DeepClone();
        }

        var call = new JsonObject { ["hook"] = hook, ["hookInstance"] = Guid.NewGuid().ToString(), ["context"] = context };
        if (fhirServer is not null)
        {
            call["fhirServer"] = fhirServer.AbsoluteUri.TrimEnd('/');
        }

        if (accessToken is not null)
        {
            call["fhirAuthorization"] = new JsonObject
            {
                ["access_token"] = accessToken, ["token_type"] = "Bearer", ["expires_in"] = 300,
                ["scope"] = "patient/Patient.read patient/Observation.read patient/Condition.read", ["subject"] = "healthrec",
            };
        }

        if (prefetch is not null)
        {
            call["prefetch"] = prefetch;
        }

        return call;
    }

    /// <summary>A draft MedicationRequest as the EHR's ordering screen holds it (for order-sign / order-select).</summary>
    public MedicationRequest Draft(string rxnorm, string display) => new()
    {
        Id = NextId("draft"),
        Status = MedicationRequest.MedicationrequestStatus.Draft,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", rxnorm, display) { Text = display },
        Subject = Subject,
    };

    /// <summary>A draft order whose medicine is any concept (e.g. a local code only).</summary>
    public MedicationRequest Draft(CodeableConcept medicine) => new()
    {
        Id = NextId("draft"),
        Status = MedicationRequest.MedicationrequestStatus.Draft,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Medication = medicine,
        Subject = Subject,
    };

    /// <summary>A draft order naming its medicine by reference to a contained Medication, as some EHRs send it.</summary>
    public MedicationRequest DraftByReference(string rxnorm, string display) => new()
    {
        Id = NextId("draft"),
        Status = MedicationRequest.MedicationrequestStatus.Draft,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Contained = [new Medication { Id = "med", Code = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", rxnorm, display) { Text = display } }],
        Medication = new ResourceReference("#med"),
        Subject = Subject,
    };

    public static JsonObject DraftOrders(params Resource[] drafts) => (JsonObject)Json(new Bundle
    {
        Type = Bundle.BundleType.Collection,
        Entry = [.. drafts.Select(d => new Bundle.EntryComponent { Resource = d })],
    });

    /// <summary>Puts the patient's resources on the FHIR test server under their own ids.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        foreach (var chunk in Resources.Chunk(50))
        {
            var transaction = new Bundle
            {
                Type = Bundle.BundleType.Transaction,
                Entry = [.. chunk.Select(r => new Bundle.EntryComponent
                {
                    Resource = r,
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"{r.TypeName}/{r.Id}" },
                })],
            };
            using var content = new StringContent(FhirJson.Serialize(transaction), Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/fhir+json");
            using var response = await http.PostAsync(TestServices.FhirBaseUrl, content, cancellationToken);
            Assert.True(response.IsSuccessStatusCode, $"loading {Id}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }
}
