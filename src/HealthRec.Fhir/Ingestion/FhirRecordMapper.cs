using Hl7.Fhir.Model;
using HealthRec.Clinical.Units;

namespace HealthRec.Fhir.Ingestion;

/// <summary>
/// Maps one patient's FHIR resources to a <see cref="PatientRecord"/>: Patient, Observation (with blood-pressure
/// panels and coded smoking status), Condition, MedicationStatement, MedicationRequest, Encounter,
/// QuestionnaireResponse (PHQ-9 total), DiagnosticReport (coded conclusions) and AllergyIntolerance. Entered-in-error
/// and refuted entries are excluded and counted; every value that cannot be used is reported, and kept in the record as
/// unread (so that a safety check can say what it could not see); nothing throws.
/// </summary>
public sealed partial class FhirRecordMapper(ClinicalTerminology terminology, UnitNormalizer units)
{
    /// <summary>How long a stopped or completed MedicationRequest with no validity period is taken to cover.</summary>
    public static readonly TimeSpan RequestWithoutEndCovers = TimeSpan.FromDays(180);

    /// <summary>The record, or null (reported) when the group has no Patient resource.</summary>
    public PatientRecord? Map(PatientResources group, IngestionReport report)
    {
        var patient = group.Resources.OfType<Patient>().FirstOrDefault();
        if (patient is null)
        {
            foreach (var resource in group.Resources)
            {
                report.Problem(ProblemKind.UnknownPatientReference, Where(resource, group.Origin),
                    $"refers to patient '{group.PatientKey}', which this source does not contain");
            }

            return null;
        }

        var builder = new PatientRecordBuilder(patient.Id ?? group.PatientKey);
        foreach (var (type, why) in group.Unavailable)
        {
            builder.Unavailable(type, why);
        }

        foreach (var resource in group.Resources)
        {
            var where = Where(resource, group.Origin);
            switch (resource)
            {
                case Patient p when ReferenceEquals(p, patient):
                    MapPatient(p, builder);
                    break;
                case Observation observation:
                    MapObservation(observation, builder, report, where);
                    break;
                case Condition condition:
                    MapCondition(condition, builder, report, where);
                    break;
                case MedicationStatement statement:
                    MapStatement(statement, builder, report, where);
                    break;
                case MedicationRequest request:
                    MapRequest(request, builder, report, where);
                    break;
                case Encounter encounter:
                    MapEncounter(encounter, builder, report);
                    break;
                case QuestionnaireResponse response:
                    MapQuestionnaire(response, builder, report, where);
                    break;
                case DiagnosticReport diagnosticReport:
                    MapDiagnosticReport(diagnosticReport, builder, report);
                    break;
                case AllergyIntolerance allergy:
                    MapAllergy(allergy, builder, report, where);
                    break;
                case Procedure procedure:
                    MapProcedure(procedure, builder, report, where);
                    break;
            }
        }

        report.PatientRead();
        return builder.Build(report);
    }

    private static string Where(Resource resource, string origin) =>
        resource.Id is { Length: > 0 } id ? $"{resource.TypeName}/{id} ({origin})" : $"{resource.TypeName} ({origin})";

    private static void MapPatient(Patient patient, PatientRecordBuilder builder)
    {
        builder.HasDemographics = true;
        builder.BirthDate = Dates.ToDate(patient.BirthDate);
        builder.Sex = patient.Gender switch
        {
            AdministrativeGender.Female => Sex.Female,
            AdministrativeGender.Male => Sex.Male,
            AdministrativeGender.Other => Sex.Other,
            _ => Sex.Unknown,
        };
        (builder.Race, builder.Ethnicity) = UsCoreDemographics.Of(patient);
        switch (patient.Deceased)
        {
            case FhirBoolean { Value: true }:
                builder.Deceased = true;
                break;
            case FhirDateTime deceasedAt:
                builder.Deceased = true;
                builder.DeceasedAt = Dates.ToInstant(deceasedAt.Value);
                break;
        }
    }

    private void MapObservation(Observation observation, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        if (observation.Status is ObservationStatus.EnteredInError or ObservationStatus.Cancelled)
        {
            report.Excluded($"Observation {observation.Status.Value.ToString().ToLowerInvariant()}");
            return;
        }

        // A cause of death: its codes' condition groups decide a cause-specific death outcome.
        if (Usable(observation.Code).Any(c => c.System == CodeSystems.Loinc && c.Code == CodeSystems.CauseOfDeath))
        {
            if (observation.Value is CodeableConcept cause)
            {
                builder.AddDeathCause(Usable(cause).SelectMany(c => terminology.ConditionGroupsOf(c.System, c.Code)));
            }
            else
            {
                report.Problem(ProblemKind.MissingValue, where, "cause of death has no coded value");
            }

            return;
        }

        // The Observation's own code, in any system the terminology lists, and each component's (a blood-pressure
        // panel's systolic and diastolic, any panel's parts): whatever is not an analyte is counted as unread data.
        var at = EffectiveOf(observation.Effective) ?? observation.Issued;
        var preliminary = observation.Status is ObservationStatus.Preliminary or ObservationStatus.Registered;
        var read = ReadCoded(observation.Code, observation.Value, at, preliminary, builder, report, where);
        foreach (var component in observation.Component)
        {
            if (ReadCoded(component.Code, component.Value, at, preliminary, builder, report, $"{where} component"))
            {
                read = true;
            }
        }

        if (!read)
        {
            Unread("Observation", observation.Code, report);
        }
    }

    private bool ReadCoded(CodeableConcept? code, DataType? value, DateTimeOffset? at, bool preliminary, PatientRecordBuilder builder,
        IngestionReport report, string where)
    {
        foreach (var (system, text, _) in Usable(code))
        {
            if (terminology.AnalyteFor(system, text) is { } analyte)
            {
                AddQuantity(analyte, value, at, preliminary, builder, report, where);
                return true;
            }

            if (terminology.CodedAnalyteFor(system, text) is { } coded)
            {
                AddCoded(coded, value, at, preliminary, builder, report, where);
                return true;
            }
        }

        return false;
    }

    // A resource whose codes no feature reads: counted by type and coding for the unused-data report.
    private static void Unread(string resourceType, CodeableConcept? code, IngestionReport report)
    {
        var codings = Usable(code).ToList();
        if (codings.Count == 0)
        {
            report.Unread(resourceType, "", "", "(no coding)");
        }

        foreach (var (system, text, display) in codings)
        {
            report.Unread(resourceType, system, text, display ?? code?.Text);
        }
    }

    private void AddQuantity(Analyte analyte, DataType? value, DateTimeOffset? at, bool preliminary, PatientRecordBuilder builder,
        IngestionReport report, string where)
    {
        if (at is null)
        {
            report.Problem(ProblemKind.MissingDate, where, $"{analyte.Title} has no effective date or issued time");
            return;
        }

        // A censored result ("eGFR >60") is taken at its boundary, the closest value the report states, and keeps its
        // comparator: the safety checks judge their thresholds against the whole range it allows.
        var (number, unit) = value switch
        {
            Quantity { Value: { } v } q => ((double?)(double)v, UcumCode(q)),
            Integer { Value: { } i } => (i, analyte.Unit),
            FhirBoolean { Value: { } flag } => (flag ? 1 : 0, analyte.Unit),
            FhirDecimal { Value: { } d } => ((double?)(double)d, analyte.Unit),
            _ => ((double?)null, (string?)null),
        };
        // The day, for what is said about a value left out (formatted only then: most values are kept).
        string Day() => at.Value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (number is null)
        {
            // A result sent as text (">60", "see note"), as some interfaces do, is not read: the text states no unit, and
            // a unit is never assumed. The card quotes it, so that the clinician sees what was sent.
            var sent = value is FhirString { Value: { Length: > 0 } text } ? $" as the text '{Quoted(text)}', not a number with a unit" : " without a numeric value";
            report.Problem(ProblemKind.MissingValue, where, $"{analyte.Title} has no numeric value{(value is FhirString ? " (a text value)" : "")}");
            builder.Add(new UnreadFact(analyte.Id, at, Resource(where), $"{analyte.Title} recorded on {Day()}{sent}"));
            return;
        }

        var outcome = units.TryNormalize(analyte, number.Value, unit, out var canonical);
        switch (outcome)
        {
            case UnitOutcome.Unknown:
                report.Problem(ProblemKind.UnknownUnit, where, $"{analyte.Title} unit '{unit}' is missing or not UCUM; value left out");
                builder.Add(new UnreadFact(analyte.Id, at, Resource(where),
                    $"{analyte.Title} recorded on {Day()} in {(string.IsNullOrWhiteSpace(unit) ? "no unit" : $"'{unit}'")}: not a unit HealthRec can read"));
                return;
            case UnitOutcome.Unconvertible:
                report.Problem(ProblemKind.UnconvertibleUnit, where, $"{analyte.Title} unit '{unit}' cannot be converted to {analyte.Unit}; value left out");
                builder.Add(new UnreadFact(analyte.Id, at, Resource(where), $"{analyte.Title} recorded in '{unit}' on {Day()}: not comparable with {analyte.Unit}"));
                return;
        }

        if (canonical < analyte.PlausibleMin || canonical > analyte.PlausibleMax || !double.IsFinite(canonical))
        {
            report.Problem(ProblemKind.ImplausibleValue, where, string.Create(CultureInfo.InvariantCulture,
                $"{analyte.Title} {canonical:0.###} {analyte.Unit} is outside [{analyte.PlausibleMin}, {analyte.PlausibleMax}]; value left out"));
            builder.Add(new UnreadFact(analyte.Id, at, Resource(where), string.Create(CultureInfo.InvariantCulture,
                $"{analyte.Title} {canonical:0.###} {analyte.Unit} on {Day()} is outside what is physiologically possible")));
            return;
        }

        var basis = ValueBasis.Reported;
        if (outcome == UnitOutcome.Equivalent)
        {
            basis = ValueBasis.UnitEquivalence;
            report.Noted(analyte.Id == PatientRecordBuilder.Egfr ? IngestionReport.EgfrEquivalence : $"{analyte.Title} in {unit} taken as {analyte.Unit}");
        }

        var bound = (value as Quantity)?.Comparator switch
        {
            Quantity.QuantityComparator.LessThan => ValueBound.Below,
            Quantity.QuantityComparator.LessOrEqual => ValueBound.AtMost,
            Quantity.QuantityComparator.GreaterOrEqual => ValueBound.AtLeast,
            Quantity.QuantityComparator.GreaterThan => ValueBound.Above,
            _ => ValueBound.Exact,
        };
        builder.Add(analyte.Id, new Measurement(at.Value, canonical, preliminary, basis, bound));
    }

    private static string Resource(string where) => where.Split(" (", 2)[0];

    private static string Quoted(string text)
    {
        var line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= 24 ? line : line[..23] + "…";
    }

    private static void AddCoded(CodedAnalyte analyte, DataType? value, DateTimeOffset? at, bool preliminary, PatientRecordBuilder builder,
        IngestionReport report, string where)
    {
        if (at is null)
        {
            report.Problem(ProblemKind.MissingDate, where, $"{analyte.Title} has no effective date");
            return;
        }

        // A coded value in any system the analyte lists; a string by code or display; a boolean as the codes true/false.
        var tokens = value switch
        {
            CodeableConcept concept => Usable(concept).Select(c => $"{c.System}|{c.Code}").ToList(),
            FhirBoolean { Value: { } flag } => [$"{analyte.System}|{(flag ? "true" : "false")}"],
            _ => null,
        };
        if (value is FhirString { Value: { Length: > 0 } text } && analyte.ValueByText.TryGetValue(text.Trim().ToLowerInvariant(), out var named))
        {
            builder.Add(analyte.Id, new Measurement(at.Value, named, preliminary));
            return;
        }

        if (tokens is null)
        {
            report.Problem(ProblemKind.MissingValue, where, value is FhirString
                ? $"{analyte.Title} text is none of its values' codes or names"
                : $"{analyte.Title} has no coded value");
            return;
        }

        foreach (var code in tokens)
        {
            if (analyte.ValueByCode.TryGetValue(code, out var ordinal))
            {
                builder.Add(analyte.Id, new Measurement(at.Value, ordinal, preliminary));
                return;
            }

            if (analyte.UnknownCodes.Contains(code))
            {
                builder.Add(new UnreadFact(analyte.Id, at, Resource(where),
                    $"{analyte.Title.Split(" (", 2)[0]} recorded as unknown on {at.Value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}"));
                return;
            }
        }

        report.Problem(ProblemKind.MissingValue, where, $"{analyte.Title} code is not one HealthRec knows");
    }

    private static IEnumerable<(string System, string Code, string? Display)> Usable(CodeableConcept? concept) =>
        (concept?.Coding ?? []).Where(c => c.System is not null && c.Code is not null).Select(c => (c.System!, c.Code!, c.Display));

    private static string? FirstCode(CodeableConcept? concept) => concept?.Coding.FirstOrDefault()?.Code;

    private static string? UcumCode(Quantity quantity) =>
        quantity.System is null || string.Equals(quantity.System, CodeSystems.Ucum, StringComparison.Ordinal)
            ? quantity.Code ?? quantity.Unit
            : null;

    private static DateTimeOffset? EffectiveOf(DataType? effective) => effective switch
    {
        FhirDateTime at => Dates.ToInstant(at.Value),
        Instant instant => instant.Value,
        Period period => Dates.ToInstant(period.Start) ?? Dates.ToInstant(period.End),
        _ => null,
    };

    private static DateTimeOffset? OnsetOf(DataType? onset, DateOnly? birthDate) => onset switch
    {
        FhirDateTime at => Dates.ToInstant(at.Value),
        Period period => Dates.ToInstant(period.Start),
        Age { Value: { } years, Code: "a" } when birthDate is { } birth =>
            new DateTimeOffset(birth.AddYears((int)years).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        _ => null,
    };
}

/// <summary>FHIR date and dateTime strings, partial or full, as instants (UTC when no offset is given).</summary>
internal static class Dates
{
    public static DateTimeOffset? ToInstant(string? value) => FhirDates.ToInstant(value);

    public static DateOnly? ToDate(string? value) =>
        ToInstant(value) is { } at ? DateOnly.FromDateTime(at.UtcDateTime) : null;
}
