namespace HealthRec.Fhir.Synthetic;

/// <summary>Observations: vital signs, laboratory results and their components, with the errors a real feed has.</summary>
internal sealed partial class SyntheticFhirWriter
{
    private void WriteObservation(SyntheticPatient p, SimObservation o, string id, string patientId, string subject, IResourceSink sink)
    {
        var w = sink.Begin(SyntheticType.Observation, id);
        Start(w, SyntheticType.Observation, id);
        w.WriteString("status"u8, "final"u8);
        var site = p.Site;
        var category = o.Kind switch
        {
            ObsKind.BloodPressure or ObsKind.Weight or ObsKind.Height or ObsKind.Bmi or ObsKind.HeartRate => "vital-signs",
            ObsKind.Smoking => "social-history",
            _ => "laboratory",
        };
        w.WriteStartArray("category"u8);
        Concept(w, "http://terminology.hl7.org/CodeSystem/observation-category", category, null, null);
        w.WriteEndArray();
        var coded = SyntheticCodes.Observation(o.Kind, site);
        var value = coded.Convert(o.Value);
        w.WritePropertyName("code"u8);
        Concept(w, CodeSystems.Loinc, coded.Loinc, coded.Display, null);
        Reference(w, "subject"u8, subject);
        Reference(w, "encounter"u8, _encounterReferences[o.Encounter]);
        WriteDate(w, "effectiveDateTime"u8, o.At, site);
        if (o.Error == InjectedError.DecimalSlip)
        {
            value *= 10;
        }

        switch (o.Kind)
        {
            case ObsKind.BloodPressure:
                w.WriteStartArray("component"u8);
                w.WriteStartObject();
                w.WritePropertyName("code"u8);
                Concept(w, CodeSystems.Loinc, "8480-6", "Systolic blood pressure", null);
                Quantity(w, value, 0, "mmHg", "mm[Hg]", InjectedError.None, null);
                w.WriteEndObject();
                w.WriteStartObject();
                w.WritePropertyName("code"u8);
                Concept(w, CodeSystems.Loinc, "8462-4", "Diastolic blood pressure", null);
                Quantity(w, o.Value2, 0, "mmHg", "mm[Hg]", InjectedError.None, null);
                w.WriteEndObject();
                w.WriteEndArray();
                break;
            case ObsKind.Smoking:
                var (code, smokingDisplay) = (int)o.Value switch
                {
                    0 => ("266919005", "Never smoked tobacco (finding)"),
                    1 => ("8517006", "Ex-smoker (finding)"),
                    _ => ("449868002", "Smokes tobacco daily (finding)"),
                };
                w.WritePropertyName("valueCodeableConcept"u8);
                Concept(w, CodeSystems.Snomed, code, smokingDisplay, null);
                break;
            case ObsKind.Egfr when site.Number == 3 && value > 90:
                // This laboratory reports high filtration as "> 90", as many do.
                Quantity(w, 90, 0, coded.Unit, coded.Ucum, InjectedError.None, ">");
                break;
            default:
                Quantity(w, value, coded.Decimals, coded.Unit, coded.Ucum, o.Error, null);
                break;
        }

        w.WriteEndObject();
        sink.End(SyntheticType.Observation);
        if (o.Error != InjectedError.None)
        {
            sink.Injected(SyntheticType.Observation, id, patientId, o.Error);
        }
    }

    private static void Quantity(Utf8JsonWriter w, double value, int decimals, string unit, string ucum, InjectedError error, string? comparator)
    {
        w.WriteStartObject("valueQuantity"u8);
        if (error != InjectedError.MissingValue)
        {
            w.WriteNumber("value"u8, Math.Round(value, decimals));
        }

        if (comparator is not null)
        {
            w.WriteString("comparator"u8, comparator);
        }

        switch (error)
        {
            case InjectedError.UnitNotUcum:
                w.WriteString("unit"u8, unit.Replace("/", " per ", StringComparison.Ordinal));
                break;
            case InjectedError.WrongDimension:
                w.WriteString("unit"u8, "mg"u8);
                w.WriteString("system"u8, CodeSystems.Ucum);
                w.WriteString("code"u8, "mg"u8);
                break;
            default:
                w.WriteString("unit"u8, unit);
                w.WriteString("system"u8, CodeSystems.Ucum);
                w.WriteString("code"u8, ucum);
                break;
        }

        w.WriteEndObject();
    }
}
