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
        var value = o.Value;
        string loinc, display, unit, ucum;
        var decimals = 0;
        switch (o.Kind)
        {
            case ObsKind.BloodPressure:
                (loinc, display, unit, ucum) = ("85354-9", "Blood pressure panel with all children optional", "", "");
                break;
            case ObsKind.Weight when site.ImperialBody:
                (loinc, display, unit, ucum, value, decimals) = ("29463-7", "Body weight", "lb", "[lb_av]", o.Value / 0.45359237, 1);
                break;
            case ObsKind.Weight:
                (loinc, display, unit, ucum, decimals) = ("29463-7", "Body weight", "kg", "kg", 1);
                break;
            case ObsKind.Height when site.ImperialBody:
                (loinc, display, unit, ucum, value, decimals) = ("8302-2", "Body height", "in", "[in_i]", o.Value / 2.54, 1);
                break;
            case ObsKind.Height:
                (loinc, display, unit, ucum, decimals) = ("8302-2", "Body height", "cm", "cm", 1);
                break;
            case ObsKind.Bmi:
                (loinc, display, unit, ucum, decimals) = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2", 1);
                break;
            case ObsKind.HeartRate:
                (loinc, display, unit, ucum) = ("8867-4", "Heart rate", "beats/minute", "/min");
                break;
            case ObsKind.Smoking:
                (loinc, display, unit, ucum) = ("72166-2", "Tobacco smoking status", "", "");
                break;
            case ObsKind.HbA1c when site.IfccHbA1c:
                (loinc, display, unit, ucum, value) = ("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol", "mmol/mol",
                    (o.Value - 2.152) / 0.09148);
                break;
            case ObsKind.HbA1c:
                (loinc, display, unit, ucum, decimals) = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 1);
                break;
            case ObsKind.FastingGlucose when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14771-0", "Fasting glucose [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 18.016, 1);
                break;
            case ObsKind.FastingGlucose:
                (loinc, display, unit, ucum) = ("1558-6", "Fasting glucose [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Ldl when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("22748-8", "Cholesterol in LDL [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.Ldl:
                (loinc, display, unit, ucum) = ("13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "mg/dL", "mg/dL");
                break;
            case ObsKind.Hdl when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14646-4", "Cholesterol in HDL [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.Hdl:
                (loinc, display, unit, ucum) = ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.TotalCholesterol when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 38.67, 2);
                break;
            case ObsKind.TotalCholesterol:
                (loinc, display, unit, ucum) = ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Triglycerides when site.SiLabs:
                (loinc, display, unit, ucum, value, decimals) = ("14927-8", "Triglyceride [Moles/volume] in Serum or Plasma", "mmol/L", "mmol/L",
                    o.Value / 88.57, 2);
                break;
            case ObsKind.Triglycerides:
                (loinc, display, unit, ucum) = ("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL");
                break;
            case ObsKind.Creatinine when site.SiLabs:
                (loinc, display, unit, ucum, value) = ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L", "umol/L", o.Value * 88.4);
                break;
            case ObsKind.Creatinine:
                (loinc, display, unit, ucum, decimals) = ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL", 2);
                break;
            case ObsKind.Egfr:
                (loinc, display, unit, ucum) = ("98979-8",
                    "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
                    "mL/min/1.73m2", "mL/min/{1.73_m2}");
                break;
            default:
                (loinc, display, unit, ucum, decimals) = ("9318-7", "Albumin/Creatinine [Mass Ratio] in Urine", "mg/g", "mg/g", 1);
                break;
        }

        w.WriteStartObject("code"u8);
        w.WriteStartArray("coding"u8);
        Coding(w, CodeSystems.Loinc, loinc, display);
        w.WriteEndArray();
        w.WriteEndObject();
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
                w.WriteStartObject("code"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Loinc, "8480-6", "Systolic blood pressure");
                w.WriteEndArray();
                w.WriteEndObject();
                Quantity(w, value, 0, "mmHg", "mm[Hg]", InjectedError.None, null);
                w.WriteEndObject();
                w.WriteStartObject();
                w.WriteStartObject("code"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Loinc, "8462-4", "Diastolic blood pressure");
                w.WriteEndArray();
                w.WriteEndObject();
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
                w.WriteStartObject("valueCodeableConcept"u8);
                w.WriteStartArray("coding"u8);
                Coding(w, CodeSystems.Snomed, code, smokingDisplay);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case ObsKind.Egfr when site.Number == 3 && value > 90:
                // This laboratory reports high filtration as "> 90", as many do.
                Quantity(w, 90, 0, unit, ucum, InjectedError.None, ">");
                break;
            default:
                Quantity(w, value, decimals, unit, ucum, o.Error, null);
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
