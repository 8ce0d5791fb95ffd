using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Ingestion;

/// <summary>
/// The medication side of <see cref="FhirRecordMapper"/>: MedicationStatement and MedicationRequest (a medicine named by
/// code, or by reference to a contained Medication), draft orders as if signed, and AllergyIntolerance. A current
/// medicine that nothing identifies is kept as unread, so that the interaction checks can say they could not see it.
/// </summary>
public sealed partial class FhirRecordMapper
{
    private void MapStatement(MedicationStatement statement, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        if (statement.Status is MedicationStatement.MedicationStatusCodes.EnteredInError or MedicationStatement.MedicationStatusCodes.NotTaken)
        {
            report.Excluded($"MedicationStatement {statement.Status.Value.ToString().ToLowerInvariant()}");
            return;
        }

        var (start, end) = statement.Effective switch
        {
            Period period => (Dates.ToInstant(period.Start), Dates.ToInstant(period.End)),
            FhirDateTime at => (Dates.ToInstant(at.Value), (DateTimeOffset?)null),
            _ => ((DateTimeOffset?)null, (DateTimeOffset?)null),
        };
        start ??= Dates.ToInstant(statement.DateAsserted);
        AddMedication(MedicineOf(statement, statement.Medication), start, end, statement.Status?.ToString() ?? "unknown", MedicationSource.Statement, builder, report, where,
            statement.Status is null or MedicationStatement.MedicationStatusCodes.Active or MedicationStatement.MedicationStatusCodes.Intended
                or MedicationStatement.MedicationStatusCodes.OnHold or MedicationStatement.MedicationStatusCodes.Unknown);
    }

    private void MapRequest(MedicationRequest request, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        if (request.Status is MedicationRequest.MedicationrequestStatus.EnteredInError or MedicationRequest.MedicationrequestStatus.Cancelled
            or MedicationRequest.MedicationrequestStatus.Draft)
        {
            report.Excluded($"MedicationRequest {request.Status.Value.ToString().ToLowerInvariant()}");
            return;
        }

        if (request.Intent is MedicationRequest.MedicationRequestIntent.Proposal)
        {
            report.Excluded("MedicationRequest proposal");
            return;
        }

        var start = Dates.ToInstant(request.DispenseRequest?.ValidityPeriod?.Start) ?? Dates.ToInstant(request.AuthoredOn);
        var end = Dates.ToInstant(request.DispenseRequest?.ValidityPeriod?.End);
        if (end is null && start is not null
            && request.Status is MedicationRequest.MedicationrequestStatus.Stopped or MedicationRequest.MedicationrequestStatus.Completed)
        {
            end = start + RequestWithoutEndCovers;
        }

        AddMedication(MedicineOf(request, request.Medication), start, end, request.Status?.ToString() ?? "unknown", MedicationSource.Request, builder, report, where,
            request.Status is null or MedicationRequest.MedicationrequestStatus.Active or MedicationRequest.MedicationrequestStatus.OnHold
                or MedicationRequest.MedicationrequestStatus.Unknown);
    }

    private void AddMedication(DataType? medication, DateTimeOffset? start, DateTimeOffset? end, string status, MedicationSource source,
        PatientRecordBuilder builder, IngestionReport report, string where, bool current)
    {
        if (Classify(medication) is not { } known)
        {
            // A medicine that may be current and that nothing identifies (no code the terminology knows, no name) could be
            // anything: the interaction checks say they could not see it. A named medicine outside HealthRec's classes is
            // simply not one of them (RxNorm names a product by its ingredients); a bare product code says nothing of them.
            if (current && !Named(medication))
            {
                builder.Add(new UnreadFact("medication", start, Resource(where), "a medicine with no code HealthRec's terminology lists and no name"));
            }

            Unread(source == MedicationSource.Statement ? "MedicationStatement" : "MedicationRequest", medication as CodeableConcept, report);
            return;
        }

        if (start is null)
        {
            report.Problem(ProblemKind.MissingDate, where, $"medication ({string.Join(", ", known.Classes)}) has no start date");
            return;
        }

        builder.Add(known with { Start = start, End = end, Status = status.ToLowerInvariant(), Source = source });
    }

    /// <summary>
    /// A draft order's medicine as if it started at <paramref name="at"/> (what the patient would take once it is
    /// signed), or null when it is in no medication class HealthRec knows. The record's mapping leaves drafts out.
    /// </summary>
    public MedicationEntry? AsStarted(CodeableConcept? medicine, DateTimeOffset at) =>
        Classify(medicine) is { } known ? known with { Start = at, Status = "draft", Source = MedicationSource.Request } : null;

    /// <summary>
    /// The medicine as a code: <c>medicationCodeableConcept</c>, or the code of the Medication a <c>medicationReference</c>
    /// points at — contained in the resource (<c>#id</c>) or among <paramref name="others"/> (e.g. the draft-order Bundle's
    /// entries). Null when the reference cannot be followed.
    /// </summary>
    public static CodeableConcept? MedicineOf(DomainResource resource, DataType? medication, IEnumerable<Resource>? others = null)
    {
        switch (medication)
        {
            case CodeableConcept concept:
                return concept;
            case ResourceReference { Reference: { Length: > 1 } reference }:
                var target = reference.StartsWith('#')
                    ? resource.Contained.OfType<Medication>().FirstOrDefault(m => string.Equals(m.Id, reference[1..], StringComparison.Ordinal))
                    : others?.OfType<Medication>().FirstOrDefault(m => m.Id is { } id && (string.Equals(reference, $"Medication/{id}", StringComparison.Ordinal)
                        || reference.EndsWith($"/Medication/{id}", StringComparison.Ordinal)));
                return target?.Code;
            default:
                return null;
        }
    }

    private static bool Named(DataType? medication) => medication is CodeableConcept concept
        && (!string.IsNullOrWhiteSpace(concept.Text) || concept.Coding.Any(c => !string.IsNullOrWhiteSpace(c.Display)));

    // The first usable coding that names a known class; its start, end and status are the caller's to set.
    private MedicationEntry? Classify(DataType? medication)
    {
        if (medication is not CodeableConcept concept)
        {
            return null;
        }

        foreach (var coding in Usable(concept))
        {
            // The product's strength may be in the coding's display or only in the text (an ingredient-level code).
            var name = coding.Display is { } display && concept.Text is { } text && !string.Equals(display, text, StringComparison.Ordinal)
                ? $"{display} {text}"
                : coding.Display ?? concept.Text;
            var classes = terminology.MedicationClassesOf(coding.System, coding.Code, name);
            if (!classes.IsEmpty)
            {
                return new MedicationEntry(coding.System, coding.Code, coding.Display ?? concept.Text, classes, null, null, "", MedicationSource.Request);
            }
        }

        return null;
    }

    // An allergy or intolerance with its substance as sent (codes, reaction substances, text); the safety check resolves it.
    private static void MapAllergy(AllergyIntolerance allergy, PatientRecordBuilder builder, IngestionReport report, string where)
    {
        var verification = FirstCode(allergy.VerificationStatus);
        if (verification is "entered-in-error" or "refuted")
        {
            report.Excluded($"AllergyIntolerance {verification}");
            return;
        }

        var codes = Usable(allergy.Code).Concat(allergy.Reaction.SelectMany(r => Usable(r.Substance)))
            .Select(c => new CodedValue(c.System, c.Code, c.Display)).Distinct().ToImmutableArray();
        var text = allergy.Code?.Text is { Length: > 0 } own ? own : allergy.Reaction.Select(r => r.Substance?.Text).FirstOrDefault(t => !string.IsNullOrWhiteSpace(t));
        var categories = allergy.Category.Select(c => c?.ToString().ToLowerInvariant()).OfType<string>().ToImmutableArray();
        builder.Add(new AllergyEntry(
            Resource(where),
            codes,
            text,
            categories,
            allergy.Type?.ToString().ToLowerInvariant(),
            allergy.Criticality switch
            {
                AllergyIntolerance.AllergyIntoleranceCriticality.Low => "low",
                AllergyIntolerance.AllergyIntoleranceCriticality.High => "high",
                AllergyIntolerance.AllergyIntoleranceCriticality.UnableToAssess => "unable-to-assess",
                _ => null,
            },
            FirstCode(allergy.ClinicalStatus),
            verification,
            Dates.ToInstant(allergy.RecordedDate) ?? OnsetOf(allergy.Onset, builder.BirthDate)));
    }
}
