using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace HealthRec.Server.Jobs;

/// <summary>
/// Writes population-scoring estimates back to a FHIR server as <c>RiskAssessment</c>s conforming to the HealthRec
/// profile (<c>fhir-profiles/StructureDefinition-healthrec-risk-assessment.json</c>): one per patient and binary
/// outcome, written by conditional update on a stable identifier (<c>patient:outcome</c>), so every run updates the
/// same resource and a retried chunk writes nothing twice. Batches of 50 entries (each entry stands alone; a batch, not a
/// transaction, since servers hold conditional updates in a transaction to strict isolation and few entries). Regression outcomes (a lab value
/// a year on) have no probability and are not written.
/// </summary>
public sealed class RiskAssessmentWriter(HttpClient http, Uri baseUrl, string? bearerToken)
{
    public const string Profile = "https://healthrec.example.org/fhir/StructureDefinition/healthrec-risk-assessment";
    public const string IdentifierSystem = "https://healthrec.example.org/fhir/sid/risk-assessment";
    public const string ModelSystem = "https://healthrec.example.org/fhir/CodeSystem/outcome-model";
    private const string RiskProbability = "http://terminology.hl7.org/CodeSystem/risk-probability";
    private const int EntriesPerBatch = 50;

    /// <summary>
    /// The RiskAssessment of one stored estimate (null for a regression outcome); <paramref name="reference"/> is the
    /// published equation when it, not a trained model, gave the estimate; <paramref name="beside"/> is what the card
    /// shows beside the estimate (<see cref="CdsHooks.PatientRiskCards.Beside"/>: the equation's figure when a trained
    /// model gave it, the equations alongside), said at the end of the note.
    /// </summary>
    public static RiskAssessment? Build(ScoreRow row, OutcomeDefinition definition, string validation, DateTimeOffset indexAt, bool synthetic,
        Clinical.Risk.ReferenceModel? reference = null, string? beside = null, DateTimeOffset? recorded = null)
    {
        var method = reference is null ? $"HealthRec LightGBM model {row.Outcome} {row.ModelVersion}" : $"{reference.Name}, a published equation ({reference.Citation})";
        if (definition.Kind != OutcomeKind.Binary)
        {
            return null;
        }

        var band = row.Band ?? "unknown";
        var resource = new RiskAssessment
        {
            Meta = new Meta { Profile = [Profile] },
            Identifier = [new Identifier(IdentifierSystem, $"{row.PatientId}:{row.Outcome}")],
            Status = ObservationStatus.Final,
            Subject = new ResourceReference($"Patient/{row.PatientId}"),
            // The model version (or equation) that gave the estimate, as the Device GET /models/{outcome}/device describes.
            Performer = Fhir.AiTransparency.ModelReference(row.Outcome, row.ModelVersion, reference?.Name),
            Occurrence = new FhirDateTime(indexAt.ToUniversalTime()),
            Method = new CodeableConcept
            {
                Coding = [new Coding(ModelSystem, row.Outcome, definition.Title) { Version = row.ModelVersion }],
                Text = method,
            },
            Prediction =
            [
                new RiskAssessment.PredictionComponent
                {
                    Outcome = new CodeableConcept { Text = definition.Title },
                    Probability = new FhirDecimal((decimal)Math.Round(row.Estimate, 4)),
                    QualitativeRisk = new CodeableConcept
                    {
                        Coding = [new Coding(RiskProbability, band switch { "high" => "high", "intermediate" => "moderate", _ => "low" })],
                        Text = band,
                    },
                    When = new Period(new FhirDateTime(indexAt.ToUniversalTime()), new FhirDateTime(indexAt.AddDays(definition.HorizonDays).ToUniversalTime())),
                },
            ],
            Note =
            [
                new Annotation
                {
                    Text = new Markdown(string.Create(CultureInfo.InvariantCulture,
                        $"An estimate, not a diagnosis: {row.Estimate:P0} from {(reference is null ? $"HealthRec's {row.Outcome} model {row.ModelVersion}" : reference.Name)} ({validation}). Main factors: {row.TopFactors}.")
                        + (string.IsNullOrEmpty(beside) ? "" : " " + beside)),
                },
            ],
        };
        if (synthetic)
        {
            resource.Meta.Tag = [new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HTEST", "test health data")];
        }

        // A trained model's estimate is AI-asserted, with a contained Provenance naming the model (HL7 AI Transparency); a
        // published equation's is neither.
        return reference is null ? resource.WithAiProvenance([resource.Performer], recorded ?? indexAt, "population risk scoring") : resource;
    }

    /// <summary>Writes the resources by conditional update; throws when the server refuses any of them.</summary>
    public async System.Threading.Tasks.Task WriteAsync(IReadOnlyList<RiskAssessment> resources, CancellationToken cancellationToken)
    {
        using var client = new FhirClient(baseUrl, http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false });
        if (bearerToken is not null)
        {
            client.RequestHeaders!.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        }

        foreach (var batch in resources.Chunk(EntriesPerBatch))
        {
            var transaction = new Bundle { Type = Bundle.BundleType.Batch };
            foreach (var resource in batch)
            {
                var identifier = resource.Identifier[0];
                transaction.Entry.Add(new Bundle.EntryComponent
                {
                    Resource = resource,
                    Request = new Bundle.RequestComponent
                    {
                        Method = Bundle.HTTPVerb.PUT,
                        Url = $"RiskAssessment?identifier={Uri.EscapeDataString($"{identifier.System}|{identifier.Value}")}",
                    },
                });
            }

            var response = await client.TransactionAsync(transaction, cancellationToken);
            var refused = response?.Entry.Where(e => e.Response?.Status is { } status && !status.StartsWith('2')).Select(e => e.Response!.Status).ToList() ?? [];
            if (response is null || refused.Count > 0)
            {
                throw new InvalidOperationException($"The FHIR server refused {refused.Count} of {batch.Length} RiskAssessments ({string.Join(", ", refused.Distinct())}).");
            }
        }
    }
}
