namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// The CodeSystems HealthRec publishes in <c>fhir-profiles/</c> are the ones the server compiles in and writes from:
/// valid FHIR R4, and defining every card topic, override reason and audit subtype it emits, with its display.
/// </summary>
public sealed class PublishedCodeSystemsTests
{
    [Fact]
    public void GivenThePublishedCodeSystems_WhenCheckedAgainstWhatCardsAndAuditsCarry_ThenEveryTopicOverrideAndSubtypeIsDefinedWithItsDisplay()
    {
        JsonNode Read(string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(TestServices.RepositoryRoot, "fhir-profiles", file)))!;
        var topics = Read("CodeSystem-cds-card-topic.json");
        var overrides = Read("CodeSystem-cds-override-reason.json");
        CardRules.AssertValidFhir(topics);
        CardRules.AssertValidFhir(overrides);
        Assert.Equal(Server.CdsHooks.CardCodes.TopicSystem, (string)topics["url"]!);
        Assert.Equal(Server.CdsHooks.CardCodes.OverrideSystem, (string)overrides["url"]!);

        var defined = overrides["concept"]!.AsArray().ToDictionary(c => (string)c!["code"]!, c => (string)c!["display"]!, StringComparer.Ordinal);
        var offered = Server.CdsHooks.CardCodes.RiskOverrides.Concat(Server.CdsHooks.CardCodes.RecommendationOverrides).Concat(Server.CdsHooks.CardCodes.OrderOverrides).ToList();
        Assert.Equal(defined.Count, offered.Count);
        Assert.All(offered, o => Assert.Equal(o.Display, defined[o.Code]));
        // Each kind of card offers the reasons the CodeSystem's card-kind property gives it.
        Assert.Equal(["already-aware", "estimate-does-not-fit", "not-relevant-now"], Server.CdsHooks.CardCodes.RiskOverrides.Select(o => o.Code));
        Assert.Equal(5, Server.CdsHooks.CardCodes.RecommendationOverrides.Count);
        Assert.Equal(["benefit-outweighs-risk", "record-out-of-date", "intended-replacement", "will-monitor"], Server.CdsHooks.CardCodes.OrderOverrides.Select(o => o.Code));

        // The audit trail's subtypes are the published CodeSystem's, the staff review's own two among them.
        var subtypes = Read("CodeSystem-audit-event-subtype.json");
        CardRules.AssertValidFhir(subtypes);
        Assert.Equal(Server.Audit.AuditCodes.Subtype, (string)subtypes["url"]!);
        Assert.Equal(subtypes["concept"]!.AsArray().Count, Server.Audit.AuditCodes.Subtypes.Count);
        Assert.Contains("staff-routine", Server.Audit.AuditCodes.Subtypes.Keys);
        Assert.Contains("staff-answer", Server.Audit.AuditCodes.Subtypes.Keys);

        var binaryOutcomes = Directory.GetFiles(Path.Combine(TestServices.RepositoryRoot, "models", "outcomes"), "*.json")
            .Select(f => JsonNode.Parse(File.ReadAllText(f))!).Where(o => (string?)o["kind"] is null or "binary").Select(o => $"risk-{(string)o["id"]!}");
        var codes = topics["concept"]!.AsArray().Select(c => (string)c!["code"]!).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(binaryOutcomes.Concat(["risk-not-estimated", "recommendations", "order-contraindication", "order-duplicate", "order-caution", "order-allergy", "order-interaction",
            "order-not-checked", "order-summary"]).Order(StringComparer.Ordinal),
            codes.Order(StringComparer.Ordinal));
    }
}
