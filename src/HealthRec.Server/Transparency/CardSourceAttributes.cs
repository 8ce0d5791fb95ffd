namespace HealthRec.Server.Transparency;

/// <summary>
/// Puts on each card the source attribute set behind it: a risk card the set of the model that answered its outcome, a
/// recommendations card the recommender's. Read from memory (<see cref="SourceAttributeSets"/>), so the call's path
/// gains no database read.
/// </summary>
internal static class CardSourceAttributes
{
    public static HookAnswer Annotate(this SourceAttributeSets sets, HookAnswer answer, CardContext context)
    {
        if (answer.Cards.Count == 0)
        {
            return answer;
        }

        var records = answer.Records.ToDictionary(r => r.CardUuid, StringComparer.Ordinal);
        return answer with
        {
            Cards = [.. answer.Cards.Select(card => !records.TryGetValue(card.Uuid, out var record) ? card : record.Kind switch
            {
                "risk" when sets.ForModel(record.Subject) is { } set => card with { Extension = Reference(set, context.Url($"models/{record.Subject}/attributes")) },
                "recommendation" => card with { Extension = Reference(sets.Recommender(), context.Url("recommender/attributes")) },
                _ => card,
            })],
        };
    }

    /// <summary>A service's definition with its <c>extension</c> listing the attribute sets its cards carry (what it had is kept).</summary>
    public static CdsServiceDefinition InDiscovery(CdsServiceDefinition service, SourceAttributeSets sets, Uri baseUrl)
    {
        var extension = service.Extension is { } given ? JsonNode.Parse(given.GetRawText())!.AsObject() : [];
        var outcomes = sets.Outcomes();
        List<SourceAttributesReference> references =
        [
            .. outcomes.Select(o => (Outcome: o, Set: sets.ForModel(o))).Where(x => x.Set is not null)
                .Select(x => Reference(x.Set!, new Uri(baseUrl, $"models/{x.Outcome}/attributes").AbsoluteUri).SourceAttributes),
            Reference(sets.Recommender(), new Uri(baseUrl, "recommender/attributes").AbsoluteUri).SourceAttributes,
        ];
        extension[CdsCardExtension.SourceAttributesKey] = JsonSerializer.SerializeToNode(references, Json);
        return service with { Extension = JsonSerializer.SerializeToElement(extension) };
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CdsCardExtension Reference(SourceAttributeSet set, string url) => new(new SourceAttributesReference(url, set.Subject, set.Version, set.Regulation, set.Digest));
}
