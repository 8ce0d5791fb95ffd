using Hl7.Fhir.Model;

namespace HealthRec.Fhir.Knowledge;

/// <summary>
/// The FHIR resource a suggestion would create: a MedicationRequest or ServiceRequest with <c>intent = proposal</c>
/// and <c>status = draft</c> — HealthRec proposes, a clinician decides — that instantiates the catalog's
/// ActivityDefinition and carries the reasons and the expected benefit as notes.
/// </summary>
public static class ProposalBuilder
{
    /// <summary>
    /// The proposal for one intervention. <paramref name="models"/> are the trained models that chose or ranked it (the
    /// learned ranker, the outcome model whose estimate gave its benefit): when there are any, it is labelled
    /// <c>AIAST</c> and carries a contained AI Provenance naming them (<see cref="AiTransparency"/>); a proposal from
    /// rules and published equations alone carries neither.
    /// </summary>
    public static DomainResource Build(Intervention item, string patientId, IEnumerable<string> reasons, string? benefit,
        IReadOnlyCollection<ResourceReference>? models = null, DateTimeOffset? at = null) =>
        models is { Count: > 0 }
            ? Proposal(item, patientId, reasons, benefit).WithAiProvenance(models, at ?? DateTimeOffset.UtcNow, "proposed by HealthRec's recommender")
            : Proposal(item, patientId, reasons, benefit);

    private static DomainResource Proposal(Intervention item, string patientId, IEnumerable<string> reasons, string? benefit)
    {
        var concept = new CodeableConcept(item.CodeSystem, item.Code, item.Display) { Text = item.Display };
        var canonical = $"https://healthrec.example.org/fhir/ActivityDefinition/{item.Id}";
        var notes = reasons.Select(r => new Annotation { Text = new Markdown(r) }).ToList();
        if (benefit is not null)
        {
            notes.Add(new Annotation { Text = new Markdown(benefit) });
        }

        notes.AddRange(item.Evidence.Select(e => new Annotation { Text = new Markdown($"Evidence: {e.Label} ({e.Strength}): {e.Recommendation}. {e.Url}") }));
        var subject = new ResourceReference($"Patient/{patientId}");
        if (item.ResourceType == "MedicationRequest")
        {
            var request = new MedicationRequest
            {
                Status = MedicationRequest.MedicationrequestStatus.Draft,
                Intent = MedicationRequest.MedicationRequestIntent.Proposal,
                Medication = concept,
                Subject = subject,
                InstantiatesCanonical = [canonical],
                Note = notes,
            };
            if (item.Dosage is { } dosage)
            {
                request.DosageInstruction.Add(new Dosage { Text = dosage });
            }

            return request;
        }

        return new ServiceRequest
        {
            Status = RequestStatus.Draft,
            Intent = RequestIntent.Proposal,
            Code = concept,
            Subject = subject,
            InstantiatesCanonical = [canonical],
            Note = notes,
        };
    }
}
