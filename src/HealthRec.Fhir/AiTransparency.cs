using Hl7.Fhir.Model;

namespace HealthRec.Fhir;

/// <summary>
/// HL7 AI Transparency on FHIR: a resource an AI model asserted or influenced carries the security label
/// <c>AIAST</c> ("artificial intelligence asserted", v3 ObservationValue) in <c>meta.security</c>. HealthRec labels what
/// its trained models produced or ranked — a RiskAssessment from a LightGBM model, the proposals of the recommender
/// (ranked by model estimates and the learned ranker), the GuidanceResponse of a patient-view call — and not what a
/// published equation or a knowledge-base rule produced (PREVENT's RiskAssessment, the medication checks' alternatives).
/// </summary>
public static class AiTransparency
{
    public const string System = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
    public const string Code = "AIAST";

    public static Coding Label => new(System, Code, "Artificial Intelligence asserted");

    /// <summary>Adds the label to the resource's <c>meta.security</c> (once) and returns the resource.</summary>
    public static T MarkAiAsserted<T>(this T resource)
        where T : Resource
    {
        resource.Meta ??= new Meta();
        if (!resource.Meta.Security.Any(c => c.System == System && c.Code == Code))
        {
            resource.Meta.Security.Add(Label);
        }

        return resource;
    }

    /// <summary>The IG's canonical base, its profiles and its code systems (HL7 AI Transparency on FHIR 1.0.0).</summary>
    public const string Ig = "http://hl7.org/fhir/uv/aitransparency";
    public const string ProvenanceProfile = Ig + "/StructureDefinition/AI-Provenance";
    public const string DeviceProfile = Ig + "/StructureDefinition/AI-Device";
    public const string ModelCardProfile = Ig + "/StructureDefinition/AI-ModelCard";
    public const string AiKindExtension = Ig + "/StructureDefinition/aitransparency.AIKind";
    public const string ModelCardExtension = Ig + "/StructureDefinition/aitransparency.modelCardDescription";
    public const string DeviceTypeSystem = Ig + "/CodeSystem/AIdeviceTypeCS";
    public const string InputsSystem = Ig + "/CodeSystem/AIinputsCS";

    /// <summary>Identifies a model version served by HealthRec (its Device): <c>{outcome}|{version}</c>, or <c>recommender|{version}</c>.</summary>
    public const string ModelIdentifierSystem = "https://healthrec.example.org/fhir/sid/model-version";

    public static Identifier ModelIdentifier(string outcome, string version) => new(ModelIdentifierSystem, $"{outcome}|{version}");

    /// <summary>
    /// A logical reference to the Device of a model version (it need not be stored where the reference is), shown as
    /// <paramref name="display"/> or, by default, "HealthRec {outcome} model {version}".
    /// </summary>
    public static ResourceReference ModelReference(string outcome, string version, string? display = null) =>
        new() { Identifier = ModelIdentifier(outcome, version), Display = display ?? $"HealthRec {outcome} model {version}" };

    /// <summary>The IG's code for any AI system: a Device's type and an AI agent's role.</summary>
    public static CodeableConcept ArtificialIntelligence => new() { Coding = [new Coding(DeviceTypeSystem, "Artificial-Intelligence")] };

    /// <summary>
    /// Labels <paramref name="resource"/> <c>AIAST</c> and adds a contained Provenance (the IG's AI Provenance) whose
    /// target is the resource itself (<c>#</c>) and whose AI agents are the model versions that produced or ranked it:
    /// the link travels with the resource wherever it is stored or created. Models are referenced by their Device's
    /// identifier (the Device is served by HealthRec, not necessarily stored where the resource is).
    /// </summary>
    public static T WithAiProvenance<T>(this T resource, IReadOnlyCollection<ResourceReference> models, DateTimeOffset recorded, string activity)
        where T : DomainResource
    {
        resource.MarkAiAsserted();
        if (models.Count == 0 || resource.Contained.Any(c => c is Provenance))
        {
            return resource;
        }

        var provenance = new Provenance
        {
            Id = "ai-provenance",
            Meta = new Meta { Profile = [ProvenanceProfile] },
            Target = [new ResourceReference("#")],
            Recorded = recorded.ToUniversalTime(),
            Reason = [new CodeableConcept { Coding = [Label] }],
            Activity = new CodeableConcept { Text = activity },
        };
        foreach (var model in models)
        {
            provenance.Agent.Add(new Provenance.AgentComponent
            {
                Type = new CodeableConcept { Coding = [new Coding("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author")] },
                Role = [ArtificialIntelligence],
                Who = model,
            });
        }

        resource.Contained.Add(provenance);
        return resource;
    }

    /// <summary>Whether the resource carries the label.</summary>
    public static bool IsAiAsserted(this Resource resource) => resource.Meta?.Security.Any(c => c.System == System && c.Code == Code) == true;
}
