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

    /// <summary>Whether the resource carries the label.</summary>
    public static bool IsAiAsserted(this Resource resource) => resource.Meta?.Security.Any(c => c.System == System && c.Code == Code) == true;
}
