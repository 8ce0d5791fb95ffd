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
            var body = HealthRec.Testing.JsonMutator.Mutate(seed, c.Mutations, new Random(c.Random));
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
}
