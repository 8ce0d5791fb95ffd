namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>Calls to a running HealthRec's CDS endpoints.</summary>
internal static class Cds
{
    public static async Task<(int Status, JsonNode? Body, string Text)> PostAsync(HttpClient client, string path, JsonNode body,
        CancellationToken cancellationToken, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.OK && text.Length > 0)
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        JsonNode? parsed = null;
        if (text.Length > 0)
        {
            try
            {
                parsed = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                // Left null: the caller asserts on the status and the text.
            }
        }

        return ((int)response.StatusCode, parsed, text);
    }

    public static Task<(int Status, JsonNode? Body, string Text)> PatientViewAsync(HttpClient client, JsonNode call, CancellationToken cancellationToken,
        string? bearer = null) => PostAsync(client, "/cds-services/healthrec-patient-risk", call, cancellationToken, bearer);

    /// <summary>An order-sign or order-select call, to the service of its hook.</summary>
    public static Task<(int Status, JsonNode? Body, string Text)> OrderCheckAsync(HttpClient client, JsonNode call, CancellationToken cancellationToken) =>
        PostAsync(client, $"/cds-services/{OrderService(call)}", call, cancellationToken);

    /// <summary>
    /// A hook call that must be answered: its hook's service (patient-view or an order hook) answers 200 with a response
    /// that keeps CDS Hooks' rules for cards (<see cref="CardRules"/>); the body.
    /// </summary>
    public static async Task<JsonNode> AnsweredAsync(HttpClient client, JsonNode call, CancellationToken cancellationToken)
    {
        var (status, body, text) = (string?)call["hook"] is "order-sign" or "order-select"
            ? await OrderCheckAsync(client, call, cancellationToken)
            : await PatientViewAsync(client, call, cancellationToken);
        Assert.True(status == 200, text);
        CardRules.AssertValidResponse(body);
        return body!;
    }

    public static string OrderService(JsonNode call) => (string?)call["hook"] == "order-select" ? "healthrec-order-select" : "healthrec-order-sign";

    public static JsonArray Cards(JsonNode? body) => body?["cards"]?.AsArray() ?? throw new InvalidOperationException("no cards array");

    /// <summary>The one card among <paramref name="cards"/> on <paramref name="topic"/> (its <c>source.topic.code</c>).</summary>
    public static JsonNode Card(JsonArray cards, string topic) => Assert.Single(cards, c => Topic(c) == topic)!;

    /// <summary>A card's topic code (<c>source.topic.code</c>), or null.</summary>
    public static string? Topic(JsonNode? card) => (string?)card?["source"]?["topic"]?["code"];

    /// <summary>The cards as a clinician sees them, for comparing two answers: summary, indicator, suggestion labels, detail.</summary>
    public static List<string> Seen(JsonNode? body) =>
        [.. Cards(body).Select(c => $"{c!["summary"]} | {c["indicator"]} | {string.Join(" / ", c["suggestions"]?.AsArray().Select(s => (string)s!["label"]!) ?? [])} | {c["detail"]}")];
}
