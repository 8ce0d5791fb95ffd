using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;

namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// Property-based fuzzing of every CDS Hooks endpoint with CsCheck: valid calls (patient-view, order-sign, order-select,
/// feedback) mutated — types swapped, members removed, huge arrays, deep nesting, lone surrogates, invalid UTF-8,
/// duplicate keys, truncation — and posted to the real server. No mutation may get a 5xx, and the server must answer
/// a valid call afterwards. Each 5xx is listed with the body that caused it.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class FuzzTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    /// <summary>Cases per run: CI runs all of them (about 30 s here).</summary>
    public const int Cases = 10_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly JsonNode[] Hostile =
    [
        JsonValue.Create(0)!, JsonValue.Create(-1e308)!, JsonValue.Create(true)!, JsonValue.Create("")!, JsonValue.Create("\udc00")!,
        JsonValue.Create(new string('x', 20_000))!, new JsonArray(), new JsonObject(), JsonValue.Create("Patient/../../x")!,
        JsonValue.Create("2026-13-45T99:99:99Z")!, JsonValue.Create(long.MaxValue)!, JsonValue.Create("\u0000")!,
    ];

    private static (string Path, JsonObject Body)[] Seeds()
    {
        var patient = PatientFixture.HighRisk();
        var lisinopril = patient.Draft("29046", "lisinopril 10 MG Oral Tablet");
        var amlodipine = patient.Draft("17767", "amlodipine 5 MG Oral Tablet");
        var orders = new JsonObject { ["draftOrders"] = PatientFixture.DraftOrders(lisinopril, amlodipine) };
        var select = new JsonObject
        {
            ["draftOrders"] = PatientFixture.DraftOrders(lisinopril, amlodipine),
            ["selections"] = new JsonArray(JsonValue.Create($"MedicationRequest/{lisinopril.Id}")),
        };
        var feedback = new JsonObject
        {
            ["feedback"] = new JsonArray(new JsonObject
            {
                ["card"] = Guid.NewGuid().ToString(),
                ["outcome"] = "overridden",
                ["overrideReason"] = new JsonObject
                {
                    ["reason"] = new JsonObject { ["system"] = "https://healthrec.example.org/fhir/CodeSystem/cds-override-reason", ["code"] = "already-aware" },
                    ["userComment"] = "Discussed last week.",
                },
                ["outcomeTimestamp"] = "2026-12-01T10:06:00Z",
            }),
        };
        return
        [
            ("/cds-services/healthrec-patient-risk", patient.Call(prefetch: patient.Prefetch())),
            ("/cds-services/healthrec-order-sign", patient.Call("order-sign", patient.Prefetch(), extraContext: orders)),
            ("/cds-services/healthrec-order-select", patient.Call("order-select", patient.Prefetch(), extraContext: select)),
            ("/cds-services/healthrec-patient-risk/feedback", feedback),
        ];
    }

    [Fact]
    public async Task GivenTenThousandMutatedCalls_WhenPosted_ThenNoneGetsA5xxAndTheServerStillAnswers()
    {
        var seeds = Seeds();
        var client = fixture.Server.Client;
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();

        await Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[1, 3], Gen.Int).SampleAsync(async ((int Seed, int Mutations, int Random) c) =>
        {
            var (path, seed) = seeds[c.Seed];
            var body = Mutate(seed, c.Mutations, new Random(c.Random));
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await client.SendAsync(request, Ct);
            var status = (int)response.StatusCode;
            if (status >= 500)
            {
                var error = fixture.Logs.GetSnapshot().LastOrDefault(r => r.Exception is not null)?.Exception;
                var at = error?.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("HealthRec.", StringComparison.Ordinal))?.Trim();
                failures.Add($"{status} on {path}: {error?.GetType().Name}: {error?.Message} {at}");
            }

        }, iter: Cases, threads: 1);

        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} calls got a 5xx:\n{string.Join("\n", failures.Take(10))}");
        var patient = PatientFixture.HighRisk();
        var (after, _, afterText) = await Cds.PatientViewAsync(client, patient.Call(prefetch: patient.Prefetch()), Ct);
        Assert.True(after == 200, afterText);
        TestContext.Current.SendDiagnosticMessage($"{Cases} fuzzed calls in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    // Tree mutations on a copy of the seed, then at most one byte-level mutation of its UTF-8 text.
    private static byte[] Mutate(JsonObject seed, int mutations, Random random)
    {
        var root = seed.DeepClone();
        for (var i = 0; i < mutations; i++)
        {
            var nodes = Nodes(root).ToList();
            var (node, parent, key) = nodes[random.Next(nodes.Count)];
            if (parent is null)
            {
                continue;
            }

            var replacement = random.Next(6) switch
            {
                0 => null,
                1 => Hostile[random.Next(Hostile.Length)].DeepClone(),
                2 => Deep(random.Next(10, 300)),
                3 => new JsonArray([.. Enumerable.Range(0, random.Next(100, 3000)).Select(n => (JsonNode)JsonValue.Create(n))]),
                4 => node is JsonArray array ? new JsonObject { ["entry"] = array.DeepClone() } : new JsonArray(node?.DeepClone()),
                _ => (JsonNode?)"remove",
            };
            Replace(parent, key, replacement, remove: replacement is JsonValue v && v.TryGetValue<string>(out var s) && s == "remove");
        }

        var text = root.ToJsonString();
        switch (random.Next(8))
        {
            case 0:
                return Encoding.UTF8.GetBytes(text[..random.Next(text.Length)]);
            case 1:
                // A Latin-1 byte inside a string: invalid UTF-8.
                var bytes = Encoding.UTF8.GetBytes(text).ToList();
                bytes.Insert(Math.Max(1, bytes.IndexOf((byte)'"', random.Next(bytes.Count)) + 1), 0xE9);
                return [.. bytes];
            case 2:
                // An escaped lone surrogate in the first string value after a random point.
                var at = text.IndexOf(":\"", random.Next(text.Length), StringComparison.Ordinal);
                return Encoding.UTF8.GetBytes(at < 0 ? text : text.Insert(at + 2, "\\ud800"));
            case 3:
                // A duplicate key.
                var colon = text.IndexOf("\":", random.Next(text.Length), StringComparison.Ordinal);
                var start = colon < 0 ? -1 : text.LastIndexOf('"', colon - 1);
                return Encoding.UTF8.GetBytes(start < 0 ? text : text.Insert(start, text[start..(colon + 2)] + "1,"));
            default:
                return Encoding.UTF8.GetBytes(text);
        }
    }

    private static JsonNode Deep(int depth)
    {
        JsonNode node = new JsonArray();
        for (var i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }

        return node;
    }

    private static IEnumerable<(JsonNode? Node, JsonNode? Parent, object? Key)> Nodes(JsonNode? node, JsonNode? parent = null, object? key = null)
    {
        yield return (node, parent, key);
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o.ToList())
                {
                    foreach (var x in Nodes(child, o, name))
                    {
                        yield return x;
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    foreach (var x in Nodes(a[i], a, i))
                    {
                        yield return x;
                    }
                }

                break;
        }
    }

    private static void Replace(JsonNode parent, object? key, JsonNode? replacement, bool remove)
    {
        switch (parent, key)
        {
            case (JsonObject o, string name) when remove:
                o.Remove(name);
                break;
            case (JsonObject o, string name):
                o[name] = replacement;
                break;
            case (JsonArray a, int index) when remove:
                a.RemoveAt(index);
                break;
            case (JsonArray a, int index):
                a[index] = replacement;
                break;
        }
    }
}
