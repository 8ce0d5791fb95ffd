using Hl7.Fhir.Model;

namespace HealthRec.Server.Models;

/// <summary>
/// A model version in use as a FHIR Device. A trained model (an outcome's LightGBM model, the recommender's learned
/// ranker) is an AI Device of HL7 AI Transparency on FHIR: type Artificial-Intelligence, kind Machine-Learning-Models,
/// its model card contained as an AI Model-Card DocumentReference (Markdown and CHAI XML, by URL), labelled
/// <c>AIAST</c>. A published equation that answers is a plain Device with neither. A resource HealthRec writes names
/// its Device by identifier (a RiskAssessment's performer, the agents of a contained AI Provenance).
/// </summary>
public static class ModelDevice
{
    public const string IdentifierSystem = AiTransparency.ModelIdentifierSystem;

    /// <summary>The Device of the version that answers an outcome; <paramref name="baseUrl"/> is where its model card is served.</summary>
    public static Device Of(OutcomePredictor predictor, Uri baseUrl)
    {
        var definition = predictor.Definition;
        var equation = predictor.ReferenceAnswers ? predictor.Reference : null;
        var notes = new List<string>
        {
            $"Estimates: {definition.Title}. An estimate to support, not replace, a clinician's judgement.",
            $"Validation: {(equation is null ? predictor.Manifest.Validation : $"{equation.Name}: {equation.Validation}")}",
        };
        if (equation is null && predictor.Manifest.Provenance.Synthetic)
        {
            notes.Add("Trained on synthetic data: its figures describe the synthetic population, not any real one.");
        }

        return equation is null
            ? Trained(definition.Id, predictor.AnsweringVersion, $"HealthRec {definition.Title} model", "Predictive model: LightGBM gradient-boosted trees, calibrated probabilities", notes, baseUrl)
            : Plain(definition.Id, predictor.AnsweringVersion, $"{equation.Name} (used by HealthRec for {definition.Title})", "Published risk equation", notes, baseUrl);
    }

    /// <summary>The Device of the recommender's learned ranker.</summary>
    public static Device Of(RecommenderManifest ranker, Uri baseUrl) =>
        Trained(HybridRanker.Folder, ranker.Version, "HealthRec recommender (learned ranker)", "Learning-to-rank model: LightGBM LambdaRank with nearest neighbours",
            [$"Orders the catalog's safe, indicated interventions for a patient; every suggestion keeps its guideline evidence.", $"Validation: {ranker.Validation}"], baseUrl);

    private static Device Trained(string subject, string version, string name, string kind, IReadOnlyList<string> notes, Uri baseUrl)
    {
        var device = Plain(subject, version, name, kind, notes, baseUrl);
        device.Meta = new Meta { Profile = [AiTransparency.DeviceProfile] };
        // The IG fixes the type exactly (no text): what kind of model it is goes in AIKind and a note.
        device.Type = AiTransparency.ArtificialIntelligence;
        device.Note.Insert(0, new Annotation { Text = new Markdown($"Kind: {kind}.") });
        device.Extension.Add(new Extension(AiTransparency.AiKindExtension,
            new CodeableConcept(AiTransparency.DeviceTypeSystem, "Machine-Learning-Models", "Machine Learning Models")));
        var card = new Uri(baseUrl, $"models/{Uri.EscapeDataString(subject)}").AbsoluteUri;
        device.Contained.Add(new DocumentReference
        {
            Id = "model-card",
            Meta = new Meta { Profile = [AiTransparency.ModelCardProfile] },
            Status = DocumentReferenceStatus.Current,
            Type = new CodeableConcept { Coding = [new Coding(AiTransparency.InputsSystem, "AIModelCard")] },
            Category =
            [
                new CodeableConcept(AiTransparency.InputsSystem, "AIModelCardMarkdownFormat", "Markdown Format"),
                new CodeableConcept(AiTransparency.InputsSystem, "AImodelCardCHAIformat", "CHAI Format"),
            ],
            Description = $"The model card of {name} {version}",
            Content =
            [
                new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "text/markdown", Url = card } },
                new DocumentReference.ContentComponent { Attachment = new Attachment { ContentType = "application/xml", Url = $"{card}/chai-model-card" } },
            ],
        });
        device.Extension.Add(new Extension(AiTransparency.ModelCardExtension, new ResourceReference("#model-card")));
        return device.MarkAiAsserted();
    }

    private static Device Plain(string subject, string version, string name, string kind, IReadOnlyList<string> notes, Uri baseUrl)
    {
        var card = new Uri(baseUrl, $"models/{Uri.EscapeDataString(subject)}").AbsoluteUri;
        return new Device
        {
            Id = $"{subject}-{version}".Replace('.', '-'),
            Identifier = [AiTransparency.ModelIdentifier(subject, version)],
            Status = Device.FHIRDeviceStatus.Active,
            DeviceName = [new Device.DeviceNameComponent { Name = name, Type = DeviceNameType.UserFriendlyName }],
            Version = [new Device.VersionComponent { Value = version }],
            Type = new CodeableConcept { Text = kind },
            Manufacturer = "HealthRec",
            Url = card,
            Note = [.. notes.Append($"Model card: {card}").Select(n => new Annotation { Text = new Markdown(n) })],
        };
    }
}
