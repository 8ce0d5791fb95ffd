using System.Collections.Frozen;

namespace HealthRec.Server.CdsHooks;

// The CDS Hooks 2.0 response (CDS Service Response, Card Attributes). An optional attribute without a value is null
// here and omitted on the wire (the server's JSON options ignore nulls); lists are null rather than empty.

/// <summary>The response: cards, possibly none.</summary>
public sealed record CdsResponse(IReadOnlyList<CdsCard> Cards)
{
    /// <summary>Each card as the JSON it is sent as: serialized once, for the response and for the audit trail's GuidanceResponse.</summary>
    public static byte[][] SerializeCards(IReadOnlyList<CdsCard> cards, JsonSerializerOptions options) =>
        [.. cards.Select(c => JsonSerializer.SerializeToUtf8Bytes(c, options))];

    /// <summary>The response body around cards already serialized: the bytes <c>new CdsResponse(cards)</c> serializes to.</summary>
    public static byte[] Body(byte[][] cards)
    {
        var body = new byte[cards.Sum(c => c.Length + 1) + 12];
        var at = 0;
        Append("{\"cards\":["u8);
        for (var i = 0; i < cards.Length; i++)
        {
            if (i > 0)
            {
                Append(","u8);
            }

            Append(cards[i]);
        }

        Append("]}"u8);
        return body[..at];

        void Append(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(body.AsSpan(at));
            at += bytes.Length;
        }
    }
}

public sealed record CdsCard(string Uuid, string Summary, string Indicator, CdsSource Source)
{
    public string? Detail { get; init; }

    public IReadOnlyList<CdsSuggestion>? Suggestions { get; init; }

    /// <summary><c>at-most-one</c> or <c>any</c>; present exactly when there are suggestions.</summary>
    public string? SelectionBehavior { get; init; }

    public IReadOnlyList<CdsCoding>? OverrideReasons { get; init; }

    public IReadOnlyList<CdsLink>? Links { get; init; }

    /// <summary>The card's <c>extension</c> (CDS Hooks 2.0): HealthRec's, under a namespaced key.</summary>
    public CdsCardExtension? Extension { get; init; }
}

/// <summary>HealthRec's card extension: the source attribute set behind the card.</summary>
public sealed record CdsCardExtension([property: JsonPropertyName(CdsCardExtension.SourceAttributesKey)] SourceAttributesReference SourceAttributes)
{
    public const string SourceAttributesKey = "org.example.healthrec.source-attributes";
}

/// <summary>
/// Which HTI-1 source attribute set stood behind a card: where to read it, the model or recommender and version it
/// describes, and the digest of the attributes as they were when the card was made.
/// </summary>
public sealed record SourceAttributesReference(string Url, string Subject, string Version, string Regulation, string Digest);

public sealed record CdsSource(string Label)
{
    public string? Url { get; init; }

    public CdsCoding? Topic { get; init; }
}

/// <summary>A Coding with the <c>display</c> the specification requires for override reasons.</summary>
public sealed record CdsCoding(string System, string Code, string Display);

public sealed record CdsSuggestion(string Label, string Uuid)
{
    public bool? IsRecommended { get; init; }

    public IReadOnlyList<CdsAction>? Actions { get; init; }
}

public sealed record CdsAction(string Type, string Description)
{
    /// <summary>The FHIR resource to create (valid R4 JSON, serialized with the Firely SDK).</summary>
    public JsonElement? Resource { get; init; }

    /// <summary>A relative reference to the resource to delete.</summary>
    public string? ResourceId { get; init; }
}

public sealed record CdsLink(string Label, string Url, string Type)
{
    public string? AppContext { get; init; }
}

/// <summary>Card indicators, in increasing urgency.</summary>
public static class Indicator
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Critical = "critical";

    public static int Rank(string indicator) => indicator switch
    {
        Critical => 2,
        Warning => 1,
        _ => 0,
    };
}

/// <summary>
/// HealthRec's code systems for card topics and override reasons (published in <c>fhir-profiles/</c> as CodeSystems).
/// </summary>
public static class CardCodes
{
    public const string TopicSystem = "https://healthrec.example.org/fhir/CodeSystem/cds-card-topic";
    public const string OverrideSystem = "https://healthrec.example.org/fhir/CodeSystem/cds-override-reason";

    /// <summary>The override reasons a stored card of this kind offered (its <c>overrideReasons</c>).</summary>
    public static IReadOnlyList<CdsCoding> OverridesFor(string kind) => kind switch
    {
        "risk" => RiskOverrides,
        "recommendation" => RecommendationOverrides,
        _ => OrderOverrides,
    };

    private static readonly FrozenDictionary<string, string> Topics = PublishedCodeSystems.Concepts("CodeSystem-cds-card-topic.json")
        .ToFrozenDictionary(c => c.Code, c => c.Display, StringComparer.Ordinal);

    /// <summary>A fixed card topic (<c>card.source.topic</c>) with the display the CodeSystem gives it; a risk card's topic names its outcome instead.</summary>
    public static CdsCoding Topic(string code) => new(TopicSystem, code, Topics[code]);

    // Each reason names the kind of card that offers it (the CodeSystem's card-kind property).
    private static readonly ILookup<string, CdsCoding> Overrides = PublishedCodeSystems.Concepts("CodeSystem-cds-override-reason.json")
        .ToLookup(c => PublishedCodeSystems.Property(c.Concept, "card-kind") ?? "", c => new CdsCoding(OverrideSystem, c.Code, c.Display), StringComparer.Ordinal);

    public static readonly IReadOnlyList<CdsCoding> RiskOverrides = [.. Overrides["risk"]];

    public static readonly IReadOnlyList<CdsCoding> RecommendationOverrides = [.. Overrides["recommendation"]];

    public static readonly IReadOnlyList<CdsCoding> OrderOverrides = [.. Overrides["order"]];
}
