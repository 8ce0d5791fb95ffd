using System.Globalization;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;

namespace HealthRec.Fhir;

/// <summary>
/// The fast path of <see cref="FhirJson"/>: reads straight from UTF-8 JSON into Firely POCOs, filling only the
/// elements <see cref="Ingestion.FhirRecordMapper"/> and the sources use and skipping the rest (narrative, meta,
/// identifiers, and the whole body of resource types HealthRec does not map). Every element it does read is checked
/// as the SDK's validating parser checks it (JSON token type, primitive syntax, required codes); anything it does not
/// expect ends the attempt, and the caller parses the resource again on the validating path, which reports it.
/// So both paths give the same record and the same report for everything HealthRec reads; problems in the elements
/// the fast path skips are reported only by <see cref="FhirParsing.Strict"/>.
/// </summary>
internal static class FastResourceReader
{
    /// <summary>The resource, or false when the validating path must decide (malformed, invalid or unexpected input).</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out Resource? resource)
    {
        resource = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            resource = ReadResource(ref reader, topLevel: true);
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // A value read as the wrong JSON type.
            return false;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            // A value of the wrong FHIR type for an element (e.g. a string where a decimal goes): the SDK reports it.
            return false;
        }
    }

    private static Resource ReadResource(ref Utf8JsonReader r, bool topLevel)
    {
        if (topLevel)
        {
            Read(ref r);
        }

        Expect(ref r, JsonTokenType.StartObject);
        if (!NextProperty(ref r) || !r.ValueTextEquals("resourceType"u8))
        {
            throw Unexpected("resourceType is not the first member");
        }

        var type = ReadString(ref r);
        return type switch
        {
            "Patient" => ReadPatient(ref r),
            "Observation" => ReadObservation(ref r),
            "Condition" => ReadCondition(ref r),
            "MedicationStatement" => ReadStatement(ref r),
            "MedicationRequest" => ReadRequest(ref r),
            "Encounter" => ReadEncounter(ref r),
            "QuestionnaireResponse" => ReadQuestionnaireResponse(ref r),
            "DiagnosticReport" => ReadDiagnosticReport(ref r),
            "Bundle" => ReadBundle(ref r),
            "AllergyIntolerance" => ReadAllergy(ref r),
            "Procedure" => ReadProcedure(ref r),
            _ => ReadOther(ref r, type),
        };
    }

    // A type HealthRec does not map: its id is kept (reports name it), its body skipped.
    private static Resource ReadOther(ref Utf8JsonReader r, string type)
    {
        if (ModelInfo.ModelInspector.FindClassMapping(type) is not { IsResource: true } mapping || mapping.CreateInstance() is not Resource resource)
        {
            throw Unexpected($"unknown resource type {type}");
        }

        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                resource.Id = ReadId(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return resource;
    }

    private static Bundle ReadBundle(ref Utf8JsonReader r)
    {
        var bundle = new Bundle();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                bundle.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("type"u8))
            {
                bundle.Type = ReadEnum<Bundle.BundleType>(ref r);
            }
            else if (r.ValueTextEquals("entry"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    bundle.Entry.Add(ReadEntry(ref r));
                }
            }
            else if (r.ValueTextEquals("link"u8))
            {
                // A searchset's paging links: a reader that dropped them made page 1 look like the whole result.
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    bundle.Link.Add(ReadLink(ref r));
                }
            }
            else
            {
                Skip(ref r);
            }
        }

        return bundle;
    }

    private static Bundle.LinkComponent ReadLink(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject);
        var link = new Bundle.LinkComponent();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("relation"u8))
            {
                link.Relation = ReadString(ref r);
            }
            else if (r.ValueTextEquals("url"u8))
            {
                link.Url = ReadUri(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return link;
    }

    private static Bundle.EntryComponent ReadEntry(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject);
        var entry = new Bundle.EntryComponent();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("fullUrl"u8))
            {
                entry.FullUrl = ReadUri(ref r);
            }
            else if (r.ValueTextEquals("resource"u8))
            {
                Read(ref r);
                entry.Resource = ReadResource(ref r, topLevel: false);
            }
            else
            {
                Skip(ref r);
            }
        }

        return entry;
    }

    private static Patient ReadPatient(ref Utf8JsonReader r)
    {
        var patient = new Patient();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                patient.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("gender"u8))
            {
                patient.Gender = ReadEnum<AdministrativeGender>(ref r);
            }
            else if (r.ValueTextEquals("birthDate"u8))
            {
                patient.BirthDate = Checked(ReadString(ref r), Date.IsValidValue);
            }
            else if (r.ValueTextEquals("deceasedBoolean"u8))
            {
                patient.Deceased = new FhirBoolean(ReadBoolean(ref r));
            }
            else if (r.ValueTextEquals("deceasedDateTime"u8))
            {
                patient.Deceased = ReadDateTime(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return patient;
    }

    private static Observation ReadObservation(ref Utf8JsonReader r)
    {
        var observation = new Observation();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                observation.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                observation.Status = ReadEnum<ObservationStatus>(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                observation.Code = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                observation.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("issued"u8))
            {
                observation.IssuedElement = ReadInstant(ref r);
            }
            else if (r.ValueTextEquals("component"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    observation.Component.Add(ReadComponent(ref r));
                }
            }
            else if (TryReadEffective(ref r, out var effective))
            {
                observation.Effective = effective;
            }
            else if (TryReadValue(ref r, out var value))
            {
                observation.Value = value;
            }
            else
            {
                Skip(ref r);
            }
        }

        return observation;
    }

    private static Observation.ComponentComponent ReadComponent(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject);
        var component = new Observation.ComponentComponent();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("code"u8))
            {
                component.Code = ReadConcept(ref r);
            }
            else if (TryReadValue(ref r, out var value))
            {
                component.Value = value;
            }
            else
            {
                Skip(ref r);
            }
        }

        return component;
    }

    private static Condition ReadCondition(ref Utf8JsonReader r)
    {
        var condition = new Condition();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                condition.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("clinicalStatus"u8))
            {
                condition.ClinicalStatus = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("verificationStatus"u8))
            {
                condition.VerificationStatus = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                condition.Code = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                condition.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("recordedDate"u8))
            {
                condition.RecordedDateElement = ReadDateTime(ref r);
            }
            else if (TryReadOnsetOrAbatement(ref r, "onset"u8, out var onset))
            {
                condition.Onset = onset;
            }
            else if (TryReadOnsetOrAbatement(ref r, "abatement"u8, out var abatement))
            {
                condition.Abatement = abatement;
            }
            else
            {
                Skip(ref r);
            }
        }

        return condition;
    }

    private static AllergyIntolerance ReadAllergy(ref Utf8JsonReader r)
    {
        var allergy = new AllergyIntolerance();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                allergy.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("clinicalStatus"u8))
            {
                allergy.ClinicalStatus = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("verificationStatus"u8))
            {
                allergy.VerificationStatus = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("type"u8))
            {
                allergy.Type = ReadEnum<AllergyIntolerance.AllergyIntoleranceType>(ref r);
            }
            else if (r.ValueTextEquals("category"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    allergy.CategoryElement.Add(new Code<AllergyIntolerance.AllergyIntoleranceCategory>(
                        EnumUtility.ParseLiteral<AllergyIntolerance.AllergyIntoleranceCategory>(CurrentString(ref r)) ?? throw Unexpected("an allergy category")));
                }
            }
            else if (r.ValueTextEquals("criticality"u8))
            {
                allergy.Criticality = ReadEnum<AllergyIntolerance.AllergyIntoleranceCriticality>(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                allergy.Code = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("patient"u8))
            {
                allergy.Patient = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("recordedDate"u8))
            {
                allergy.RecordedDateElement = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("reaction"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    allergy.Reaction.Add(ReadReaction(ref r));
                }
            }
            else if (TryReadOnsetOrAbatement(ref r, "onset"u8, out var onset))
            {
                allergy.Onset = onset;
            }
            else
            {
                Skip(ref r);
            }
        }

        return allergy;
    }

    // A reaction's substance, when it names one more precisely than the allergy's code; the rest is not read.
    private static AllergyIntolerance.ReactionComponent ReadReaction(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject);
        var reaction = new AllergyIntolerance.ReactionComponent();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("substance"u8))
            {
                reaction.Substance = ReadConcept(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return reaction;
    }

    private static MedicationStatement ReadStatement(ref Utf8JsonReader r)
    {
        var statement = new MedicationStatement();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                statement.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                statement.Status = ReadEnum<MedicationStatement.MedicationStatusCodes>(ref r);
            }
            else if (r.ValueTextEquals("medicationCodeableConcept"u8))
            {
                statement.Medication = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("medicationReference"u8) || r.ValueTextEquals("contained"u8))
            {
                throw Unexpected("a medicine by reference (resolved on the validating path)");
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                statement.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("effectiveDateTime"u8))
            {
                statement.Effective = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("effectivePeriod"u8))
            {
                statement.Effective = ReadPeriod(ref r);
            }
            else if (r.ValueTextEquals("dateAsserted"u8))
            {
                statement.DateAssertedElement = ReadDateTime(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return statement;
    }

    private static MedicationRequest ReadRequest(ref Utf8JsonReader r)
    {
        var request = new MedicationRequest();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                request.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                request.Status = ReadEnum<MedicationRequest.MedicationrequestStatus>(ref r);
            }
            else if (r.ValueTextEquals("intent"u8))
            {
                request.Intent = ReadEnum<MedicationRequest.MedicationRequestIntent>(ref r);
            }
            else if (r.ValueTextEquals("medicationCodeableConcept"u8))
            {
                request.Medication = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("medicationReference"u8) || r.ValueTextEquals("contained"u8))
            {
                throw Unexpected("a medicine by reference (resolved on the validating path)");
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                request.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("authoredOn"u8))
            {
                request.AuthoredOnElement = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("dispenseRequest"u8))
            {
                request.DispenseRequest = ReadDispenseRequest(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return request;
    }

    private static MedicationRequest.DispenseRequestComponent ReadDispenseRequest(ref Utf8JsonReader r)
    {
        ReadObject(ref r);
        var dispense = new MedicationRequest.DispenseRequestComponent();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("validityPeriod"u8))
            {
                dispense.ValidityPeriod = ReadPeriod(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return dispense;
    }

    private static Encounter ReadEncounter(ref Utf8JsonReader r)
    {
        var encounter = new Encounter();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                encounter.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                encounter.Status = ReadEnum<Encounter.EncounterStatus>(ref r);
            }
            else if (r.ValueTextEquals("class"u8))
            {
                ReadObject(ref r);
                encounter.Class = ReadCodingBody(ref r);
            }
            else if (r.ValueTextEquals("type"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    encounter.Type.Add(ReadConceptBody(ref r));
                }
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                encounter.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("period"u8))
            {
                encounter.Period = ReadPeriod(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return encounter;
    }

    private static Procedure ReadProcedure(ref Utf8JsonReader r)
    {
        var procedure = new Procedure();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                procedure.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                procedure.Status = ReadEnum<EventStatus>(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                procedure.Code = ReadConcept(ref r);
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                procedure.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("performedDateTime"u8))
            {
                procedure.Performed = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("performedPeriod"u8))
            {
                procedure.Performed = ReadPeriod(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return procedure;
    }

    private static QuestionnaireResponse ReadQuestionnaireResponse(ref Utf8JsonReader r)
    {
        var response = new QuestionnaireResponse();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                response.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                response.Status = ReadEnum<QuestionnaireResponse.QuestionnaireResponseStatus>(ref r);
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                response.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("authored"u8))
            {
                response.AuthoredElement = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("item"u8))
            {
                ReadItems(ref r, response.Item);
            }
            else
            {
                Skip(ref r);
            }
        }

        return response;
    }

    private static void ReadItems(ref Utf8JsonReader r, List<QuestionnaireResponse.ItemComponent> items)
    {
        ReadArray(ref r);
        while (NextItem(ref r))
        {
            Expect(ref r, JsonTokenType.StartObject);
            var item = new QuestionnaireResponse.ItemComponent();
            while (NextProperty(ref r))
            {
                if (r.ValueTextEquals("linkId"u8))
                {
                    item.LinkId = ReadString(ref r);
                }
                else if (r.ValueTextEquals("item"u8))
                {
                    ReadItems(ref r, item.Item);
                }
                else if (r.ValueTextEquals("answer"u8))
                {
                    ReadArray(ref r);
                    while (NextItem(ref r))
                    {
                        Expect(ref r, JsonTokenType.StartObject);
                        var answer = new QuestionnaireResponse.AnswerComponent();
                        while (NextProperty(ref r))
                        {
                            if (r.ValueTextEquals("item"u8))
                            {
                                ReadItems(ref r, answer.Item);
                            }
                            else if (TryReadValue(ref r, out var value))
                            {
                                answer.Value = value;
                            }
                            else
                            {
                                Skip(ref r);
                            }
                        }

                        item.Answer.Add(answer);
                    }
                }
                else
                {
                    Skip(ref r);
                }
            }

            items.Add(item);
        }
    }

    private static DiagnosticReport ReadDiagnosticReport(ref Utf8JsonReader r)
    {
        var report = new DiagnosticReport();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("id"u8))
            {
                report.Id = ReadId(ref r);
            }
            else if (r.ValueTextEquals("status"u8))
            {
                report.Status = ReadEnum<DiagnosticReport.DiagnosticReportStatus>(ref r);
            }
            else if (r.ValueTextEquals("subject"u8))
            {
                report.Subject = ReadReference(ref r);
            }
            else if (r.ValueTextEquals("issued"u8))
            {
                report.IssuedElement = ReadInstant(ref r);
            }
            else if (r.ValueTextEquals("conclusionCode"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    report.ConclusionCode.Add(ReadConceptBody(ref r));
                }
            }
            else if (TryReadEffective(ref r, out var effective))
            {
                report.Effective = effective;
            }
            else
            {
                Skip(ref r);
            }
        }

        return report;
    }

    // effective[x] of Observation and DiagnosticReport.
    private static bool TryReadEffective(ref Utf8JsonReader r, out DataType? effective)
    {
        if (r.ValueTextEquals("effectiveDateTime"u8))
        {
            effective = ReadDateTime(ref r);
        }
        else if (r.ValueTextEquals("effectivePeriod"u8))
        {
            effective = ReadPeriod(ref r);
        }
        else if (r.ValueTextEquals("effectiveInstant"u8))
        {
            effective = ReadInstant(ref r);
        }
        else
        {
            effective = null;
            return false;
        }

        return true;
    }

    // value[x] of Observation, its components and questionnaire answers: the types the mapper reads. Any other
    // value[x] is handed to the validating path, so an unusual value is never silently dropped.
    private static bool TryReadValue(ref Utf8JsonReader r, out DataType? value)
    {
        if (r.ValueTextEquals("valueQuantity"u8))
        {
            value = ReadQuantity(ref r, new Quantity());
        }
        else if (r.ValueTextEquals("valueCodeableConcept"u8))
        {
            value = ReadConcept(ref r);
        }
        else if (r.ValueTextEquals("valueInteger"u8))
        {
            Read(ref r);
            value = new Integer(r.TokenType == JsonTokenType.Number ? r.GetInt32() : throw Unexpected("integer"));
        }
        else if (r.ValueTextEquals("valueDecimal"u8))
        {
            Read(ref r);
            value = new FhirDecimal(r.TokenType == JsonTokenType.Number ? r.GetDecimal() : throw Unexpected("decimal"));
        }
        else if (r.ValueTextEquals("valueString"u8))
        {
            value = new FhirString(ReadString(ref r));
        }
        else if (r.ValueTextEquals("valueBoolean"u8))
        {
            value = new FhirBoolean(ReadBoolean(ref r));
        }
        else if (r.ValueTextEquals("valueDateTime"u8))
        {
            value = ReadDateTime(ref r);
        }
        else
        {
            value = null;
            if (r.ValueSpan.StartsWith("value"u8) && r.ValueSpan.Length > "value".Length && char.IsAsciiLetterUpper((char)r.ValueSpan[5]))
            {
                throw Unexpected("a value[x] type the fast path does not read");
            }

            return false;
        }

        return true;
    }

    private static bool TryReadOnsetOrAbatement(ref Utf8JsonReader r, ReadOnlySpan<byte> prefix, out DataType? value)
    {
        value = null;
        var name = r.ValueSpan;
        if (!name.StartsWith(prefix))
        {
            return false;
        }

        var suffix = name[prefix.Length..];
        if (suffix.SequenceEqual("DateTime"u8))
        {
            value = ReadDateTime(ref r);
        }
        else if (suffix.SequenceEqual("Period"u8))
        {
            value = ReadPeriod(ref r);
        }
        else if (suffix.SequenceEqual("Age"u8))
        {
            value = ReadQuantity(ref r, new Age());
        }
        else if (suffix.SequenceEqual("String"u8))
        {
            value = new FhirString(ReadString(ref r));
        }
        else if (suffix.SequenceEqual("Boolean"u8))
        {
            value = new FhirBoolean(ReadBoolean(ref r));
        }
        else if (suffix.Length > 0 && char.IsAsciiLetterUpper((char)suffix[0]))
        {
            throw Unexpected("an onset[x] or abatement[x] type the fast path does not read");
        }
        else
        {
            return false;
        }

        return true;
    }

    private static T ReadQuantity<T>(ref Utf8JsonReader r, T quantity)
        where T : Quantity
    {
        ReadObject(ref r);
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("value"u8))
            {
                Read(ref r);
                quantity.Value = r.TokenType == JsonTokenType.Number ? r.GetDecimal() : throw Unexpected("decimal");
            }
            else if (r.ValueTextEquals("unit"u8))
            {
                quantity.Unit = ReadString(ref r);
            }
            else if (r.ValueTextEquals("system"u8))
            {
                quantity.System = ReadUri(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                quantity.Code = Checked(ReadString(ref r), FhirPrimitives.IsCode);
            }
            else if (r.ValueTextEquals("comparator"u8))
            {
                quantity.Comparator = ReadEnum<Quantity.QuantityComparator>(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return quantity;
    }

    private static CodeableConcept ReadConcept(ref Utf8JsonReader r)
    {
        Read(ref r);
        return ReadConceptBody(ref r);
    }

    private static CodeableConcept ReadConceptBody(ref Utf8JsonReader r)
    {
        Expect(ref r, JsonTokenType.StartObject);
        var concept = new CodeableConcept();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("coding"u8))
            {
                ReadArray(ref r);
                while (NextItem(ref r))
                {
                    Expect(ref r, JsonTokenType.StartObject);
                    concept.Coding.Add(ReadCodingBody(ref r));
                }
            }
            else if (r.ValueTextEquals("text"u8))
            {
                concept.Text = ReadString(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return concept;
    }

    // The members of a Coding whose '{' has been read.
    private static Coding ReadCodingBody(ref Utf8JsonReader r)
    {
        var coding = new Coding();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("system"u8))
            {
                coding.System = ReadUri(ref r);
            }
            else if (r.ValueTextEquals("code"u8))
            {
                coding.Code = Checked(ReadString(ref r), FhirPrimitives.IsCode);
            }
            else if (r.ValueTextEquals("display"u8))
            {
                coding.Display = ReadString(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return coding;
    }

    private static ResourceReference ReadReference(ref Utf8JsonReader r)
    {
        ReadObject(ref r);
        var reference = new ResourceReference();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("reference"u8))
            {
                reference.Reference = ReadString(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return reference;
    }

    private static Period ReadPeriod(ref Utf8JsonReader r)
    {
        ReadObject(ref r);
        var period = new Period();
        while (NextProperty(ref r))
        {
            if (r.ValueTextEquals("start"u8))
            {
                period.StartElement = ReadDateTime(ref r);
            }
            else if (r.ValueTextEquals("end"u8))
            {
                period.EndElement = ReadDateTime(ref r);
            }
            else
            {
                Skip(ref r);
            }
        }

        return period;
    }

    private static FhirDateTime ReadDateTime(ref Utf8JsonReader r) => new(Checked(ReadString(ref r), FhirDates.IsValidDateTime));

    private static Instant ReadInstant(ref Utf8JsonReader r)
    {
        var value = ReadString(ref r);
        return new(value.Length > 10 && FhirDates.TryParseCommon(value, out var at) ? at
            : DateTimeOffset.Parse(Checked(value, Instant.IsValidValue), CultureInfo.InvariantCulture, DateTimeStyles.None));
    }

    // The code systems and units nearly every resource names, matched on their UTF-8 bytes: no string made, no Uri parsed.
    private static readonly (byte[] Utf8, string Text)[] KnownUris = [.. new[]
    {
        "http://loinc.org", "http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org",
        "http://hl7.org/fhir/sid/icd-10-cm", "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "http://terminology.hl7.org/CodeSystem/condition-ver-status", "http://terminology.hl7.org/CodeSystem/observation-category",
    }.Select(uri => (System.Text.Encoding.UTF8.GetBytes(uri), uri))];

    private static string ReadUri(ref Utf8JsonReader r)
    {
        Read(ref r);
        if (r.TokenType == JsonTokenType.String && !r.ValueIsEscaped && !r.HasValueSequence)
        {
            foreach (var (utf8, text) in KnownUris)
            {
                if (r.ValueSpan.SequenceEqual(utf8))
                {
                    return text;
                }
            }
        }

        return Checked(CurrentString(ref r), FhirPrimitives.IsUri);
    }

    private static string ReadId(ref Utf8JsonReader r) => Checked(ReadString(ref r), FhirPrimitives.IsId);

    private static T ReadEnum<T>(ref Utf8JsonReader r)
        where T : struct, Enum =>
        EnumUtility.ParseLiteral<T>(ReadString(ref r)) ?? throw Unexpected($"a code outside {typeof(T).Name}");

    private static string ReadString(ref Utf8JsonReader r)
    {
        Read(ref r);
        return CurrentString(ref r);
    }

    private static string CurrentString(ref Utf8JsonReader r) =>
        r.TokenType == JsonTokenType.String && r.GetString() is { Length: > 0 } value && FhirString.IsValidValue(value)
            ? value
            : throw Unexpected("a non-empty string");

    private static bool ReadBoolean(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => throw Unexpected("a boolean"),
        };
    }

    private static string Checked(string value, Func<string, bool> isValid) => isValid(value) ? value : throw Unexpected("a valid primitive");

    private static void Read(ref Utf8JsonReader r)
    {
        if (!r.Read())
        {
            throw Unexpected("more JSON");
        }
    }

    private static void ReadObject(ref Utf8JsonReader r)
    {
        Read(ref r);
        Expect(ref r, JsonTokenType.StartObject);
    }

    private static void ReadArray(ref Utf8JsonReader r)
    {
        Read(ref r);
        Expect(ref r, JsonTokenType.StartArray);
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type)
    {
        if (r.TokenType != type)
        {
            throw Unexpected(type.ToString());
        }
    }

    // Inside an object: true on the next member name, false at its end.
    private static bool NextProperty(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.PropertyName when r.ValueIsEscaped => throw Unexpected("a member name without escapes"),
            JsonTokenType.PropertyName => true,
            JsonTokenType.EndObject => false,
            _ => throw Unexpected("a member"),
        };
    }

    // Inside an array: true on the next item (positioned on its first token), false at its end; null items are
    // not FHIR and go to the validating path.
    private static bool NextItem(ref Utf8JsonReader r)
    {
        Read(ref r);
        return r.TokenType switch
        {
            JsonTokenType.EndArray => false,
            JsonTokenType.Null => throw Unexpected("an item"),
            _ => true,
        };
    }

    private static void Skip(ref Utf8JsonReader r)
    {
        Read(ref r);
        r.Skip();
    }

    private static JsonException Unexpected(string what) => new($"expected {what}");
}
