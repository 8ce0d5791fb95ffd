using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;
using Hl7.Fhir.Model;

namespace HealthRec.Server.Tests.Transparency;

/// <summary>
/// The model cards as standards: every Device valid against HL7 AI Transparency's AI Device, every resource a model
/// influenced labelled AIAST with a contained AI Provenance naming a Device HealthRec serves, nothing else labelled,
/// and the CHAI Applied Model Card of every model valid against CHAI's schema v0.2.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class AiTransparencyTests
{
    private static void AssertValid(Resource resource, string profile, string what)
    {
        var outcome = ProfileValidation.Validator.Value.Validate(resource, profile);
        Assert.True(outcome.Errors == 0 && outcome.Fatals == 0, $"{what} against {profile}: " + string.Join("\n", outcome.Issue
            .Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)
            .Select(i => $"{i.Details?.Text} at {string.Join(", ", i.Expression)}")));
    }

    // A labelled resource carries its contained AI Provenance, valid, naming only Devices this server serves.
    private static async System.Threading.Tasks.Task AssertAiAssertedAsync(RunningServer server, DomainResource resource, string what)
    {
        Assert.True(resource.IsAiAsserted(), $"{what} is not labelled AIAST");
        var provenance = Assert.Single(resource.Contained.OfType<Provenance>());
        Assert.Equal("#", Assert.Single(provenance.Target).Reference);
        Assert.Contains(AiTransparency.ProvenanceProfile, provenance.Meta?.Profile ?? []);
        // Validated where it lives: the container's validation checks each contained resource against the profile it
        // claims (the "#" target resolves only there). A Provenance without its AI reason then fails.
        AssertValid(resource, $"http://hl7.org/fhir/StructureDefinition/{resource.TypeName}", what);
        var broken = (DomainResource)resource.DeepCopy();
        broken.Contained.OfType<Provenance>().Single().Reason.Clear();
        Assert.True(ProfileValidation.Validator.Value.Validate(broken, $"http://hl7.org/fhir/StructureDefinition/{resource.TypeName}").Errors > 0,
            $"{what}: a contained Provenance without its AI reason passed validation: the profile is not checked");
        Assert.NotEmpty(provenance.Agent);
        foreach (var agent in provenance.Agent)
        {
            var identifier = agent.Who?.Identifier ?? throw new Xunit.Sdk.XunitException($"{what}: an agent names no model");
            Assert.Equal(AiTransparency.ModelIdentifierSystem, identifier.System);
            var value = identifier.Value ?? "";
            var subject = value[..Math.Max(0, value.IndexOf('|', StringComparison.Ordinal))];
            var device = JsonSerializer.Deserialize<Device>(await server.Client.GetStringAsync(new Uri($"/models/{subject}/device", UriKind.Relative), Ct), FhirJson.Options)!;
            Assert.Equal(value, Assert.Single(device.Identifier).Value);
            AssertValid(device, AiTransparency.DeviceProfile, $"the Device of {identifier.Value}");
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task EveryModelsDevice_IsAnAiDevice_AndEveryResourceAModelInfluenced_IsLabelledWithItsProvenance()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        foreach (var predictor in catalog.Current.Predictors.Values)
        {
            var device = JsonSerializer.Deserialize<Device>(await server.Client.GetStringAsync(new Uri($"/models/{predictor.Definition.Id}/device", UriKind.Relative), Ct), FhirJson.Options)!;
            AssertValid(device, "http://hl7.org/fhir/StructureDefinition/Device", $"{predictor.Definition.Id}'s Device");
            // A trained model is an AI Device with its model card; a published equation is neither labelled nor profiled as AI.
            Assert.Equal(!predictor.ReferenceAnswers, device.IsAiAsserted());
            if (!predictor.ReferenceAnswers)
            {
                AssertValid(device, AiTransparency.DeviceProfile, $"{predictor.Definition.Id}'s Device");
                var card = Assert.Single(device.Contained.OfType<DocumentReference>());
                AssertValid(card, AiTransparency.ModelCardProfile, $"{predictor.Definition.Id}'s model card");
                foreach (var content in card.Content)
                {
                    var served = await server.Client.GetAsync(new Uri(new Uri(content.Attachment.Url!).PathAndQuery, UriKind.Relative), Ct);
                    Assert.True(served.IsSuccessStatusCode, $"{content.Attachment.Url}: {served.StatusCode}");
                }
            }
        }

        // A patient-view call: the decision (GuidanceResponse) and each proposal a model ranked or weighed are labelled.
        var patient = PatientFixture.HighRisk();
        var (status, body, text) = await Cds.PatientViewAsync(server.Client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.True(status == 200, text);
        var proposals = Cds.Cards(body).SelectMany(c => c!["suggestions"]?.AsArray() ?? []).SelectMany(s => s!["actions"]!.AsArray())
            .Where(a => a!["resource"] is not null).Select(a => JsonSerializer.Deserialize<DomainResource>(a!["resource"]!.ToJsonString(), FhirJson.Options)!).ToList();
        Assert.NotEmpty(proposals);
        foreach (var proposal in proposals)
        {
            AssertValid(proposal, $"http://hl7.org/fhir/StructureDefinition/{proposal.TypeName}", "a proposal");
            // Labelled exactly when a Provenance names the models behind it; proposals of rules and equations alone carry neither.
            Assert.Equal(proposal.IsAiAsserted(), proposal.Contained.OfType<Provenance>().Any());
        }

        Assert.Contains(proposals, p => p.IsAiAsserted());
        foreach (var proposal in proposals.Where(p => p.IsAiAsserted()))
        {
            await AssertAiAssertedAsync(server, proposal, $"the proposal {proposal.TypeName}");
        }

        var audit = await server.AuditAsync(Ct);
        var guidance = (await audit.ReadAsync(Ct).ToListAsync(Ct)).Select(r => JsonSerializer.Deserialize<Resource>(r.ResourceJson, FhirJson.Options)).OfType<GuidanceResponse>().Last();
        await AssertAiAssertedAsync(server, guidance, "the call's GuidanceResponse");
        AssertValid(guidance, Audit.AuditCodes.GuidanceResponseProfile, "the call's GuidanceResponse");
    }

    [Fact]
    public async System.Threading.Tasks.Task TheChaiModelCardOfEveryModel_IsValidAgainstChaisSchema()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        var schemas = ChaiSchema();
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        var cards = 0;
        foreach (var predictor in catalog.Current.Predictors.Values)
        {
            foreach (var model in Server.Transparency.SourceAttributeSets.ModelsOf(predictor))
            {
                var response = await server.Client.GetAsync(new Uri($"/models/{predictor.Definition.Id}/chai-model-card?model={model}", UriKind.Relative), Ct);
                Assert.Equal("application/xml", response.Content.Headers.ContentType?.MediaType);
                var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
                var errors = new List<string>();
                xml.Validate(schemas, (_, e) => errors.Add($"{e.Severity}: {e.Message}"));
                Assert.True(errors.Count == 0, $"{predictor.Definition.Id}/{model}: {string.Join("; ", errors)}");
                // Each key metric's results are JSON of the schema's kinds, and the card points at the attribute set it was written from.
                foreach (var value in xml.Descendants(Server.Transparency.ChaiModelCard.Mc + "ValueJson"))
                {
                    Assert.Contains((string?)JsonNode.Parse(value.Value)!["kind"], new[] { "single", "estimate_ci" });
                }

                Assert.Contains("/attributes", xml.Descendants(Server.Transparency.ChaiModelCard.Mc + "Transparency").Single().Value, StringComparison.Ordinal);
                cards++;
            }
        }

        Assert.True(cards >= 16, $"{cards} cards");
        // The published LightGBM model's card carries its held-out ROC-AUC with its interval.
        var t2d = XDocument.Parse(await server.Client.GetStringAsync(new Uri("/models/t2d-5y/chai-model-card", UriKind.Relative), Ct));
        var auc = t2d.Descendants(Server.Transparency.ChaiModelCard.Mc + "MetricResult").First(r => r.Element(Server.Transparency.ChaiModelCard.Mc + "Label")!.Value.StartsWith("ROC-AUC (held-out", StringComparison.Ordinal));
        Assert.Equal("estimate_ci", (string?)JsonNode.Parse(auc.Element(Server.Transparency.ChaiModelCard.Mc + "ValueJson")!.Value)!["kind"]);
    }

    // CHAI's schema v0.2 as published; its import of the W3C signature schema resolves to a local stand-in (no network in
    // CI, and the cards carry no signature).
    private static XmlSchemaSet ChaiSchema()
    {
        var set = new XmlSchemaSet { XmlResolver = new SignatureStandIn() };
        using var reader = XmlReader.Create(Path.Combine(TestServices.RepositoryRoot, "tests", "HealthRec.Server.Tests", "Transparency", "Standards", "chai-applied-model-card-v0.2.xsd"),
            new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        set.Add(null, reader);
        set.Compile();
        return set;
    }

    private sealed class SignatureStandIn : XmlResolver
    {
        public override object GetEntity(Uri absoluteUri, string? role, Type? ofObjectToReturn) => absoluteUri.AbsoluteUri.Contains("xmldsig", StringComparison.Ordinal)
            ? new MemoryStream("""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/2000/09/xmldsig#" elementFormDefault="qualified"><xs:element name="Signature" type="xs:anyType"/></xs:schema>"""u8.ToArray())
            : throw new XmlException($"no network: {absoluteUri}");
    }
}
