using Hl7.Fhir.Model;
using HealthRec.Fhir;
using HealthRec.ML.Serving;

namespace HealthRec.Server.Models;

/// <summary>
/// The model version that answers an outcome as a FHIR Device (HL7 AI Transparency on FHIR represents an AI model as a
/// Device): its identifier (outcome and version), name, version, what kind of model it is, how it was validated, its
/// intended use and its model card; labelled <c>AIAST</c> when it is a trained model, not when a published equation
/// answers. A RiskAssessment HealthRec writes names it as its performer by this identifier.
/// </summary>
public static class ModelDevice
{
    public const string IdentifierSystem = "https://healthrec.example.org/fhir/sid/model-version";

    /// <summary>The identifier of a model version: <c>{outcome}|{version}</c>.</summary>
    public static Identifier IdentifierOf(string outcome, string version) => new(IdentifierSystem, $"{outcome}|{version}");

    /// <summary>A logical reference to the Device of a model version (it need not be stored where the reference is).</summary>
    public static ResourceReference ReferenceTo(string outcome, string version, string display) =>
        new() { Identifier = IdentifierOf(outcome, version), Display = display };

    public static Device Of(OutcomePredictor predictor, string modelCardUrl)
    {
        var definition = predictor.Definition;
        var equation = predictor.ReferenceAnswers ? predictor.Reference : null;
        var version = predictor.AnsweringVersion;
        var device = new Device
        {
            Id = $"{definition.Id}-{version}".Replace('.', '-'),
            Identifier = [IdentifierOf(definition.Id, version)],
            Status = Device.FHIRDeviceStatus.Active,
            DeviceName =
            [
                new Device.DeviceNameComponent
                {
                    Name = equation is null ? $"HealthRec {definition.Title} model" : $"{equation.Name} (used by HealthRec for {definition.Title})",
                    Type = DeviceNameType.UserFriendlyName,
                },
            ],
            Version = [new Device.VersionComponent { Value = version }],
            Type = new CodeableConcept
            {
                Text = equation is null ? "Predictive model: LightGBM gradient-boosted trees, calibrated probabilities" : "Published risk equation",
            },
            Manufacturer = "HealthRec",
            Url = modelCardUrl,
            Note =
            [
                new Annotation { Text = new Markdown($"Estimates: {definition.Title}. An estimate to support, not replace, a clinician's judgement.") },
                new Annotation { Text = new Markdown($"Validation: {(equation is null ? predictor.Manifest.Validation : $"{equation.Name}: {equation.Validation}")}") },
                new Annotation { Text = new Markdown($"Model card: {modelCardUrl}") },
            ],
        };
        if (equation is null && predictor.Manifest.Provenance.Synthetic)
        {
            device.Note.Add(new Annotation { Text = new Markdown("Trained on synthetic data: its figures describe the synthetic population, not any real one.") });
        }

        return equation is null ? device.MarkAiAsserted() : device;
    }
}
