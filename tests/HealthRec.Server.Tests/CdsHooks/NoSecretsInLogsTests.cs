namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>The trusted-clients server with every category logging at Trace: whatever is written, no secret is in it.</summary>
public sealed class VerboseTrustedClients : TrustedClients
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        ["Logging:LogLevel:System.Net.Http"] = "Trace",
    };
}

[Collection(SequentialServers.Name)]
public sealed class NoSecretsInLogsTests(VerboseTrustedClients fixture) : IClassFixture<VerboseTrustedClients>
{
    [Fact]
    public async Task GivenCallsWithJwtsAndFhirAccessTokens_WhenEverythingIsLoggedAtTrace_ThenNoTokenAppearsInAnyLogRecord()
    {
        var client = fixture.Server.Client;
        var service = new Uri(fixture.Server.BaseAddress, "/cds-services/healthrec-patient-risk").AbsoluteUri;
        string Jwt(string audience) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = TrustedClients.InlineIssuer,
            Audience = audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(fixture.Ec, SecurityAlgorithms.EcdsaSha384),
            Claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString() },
        });
        var patient = PatientFixture.HighRisk();
        await patient.LoadAsync(Ct);
        var accessToken = "fhir-access-" + Guid.NewGuid().ToString("N");
        var secrets = new List<string> { accessToken };

        // Answered, with two keys read from the FHIR server with the access token.
        var good = Jwt(service);
        secrets.Add(good);
        var (status, body, text) = await Cds.PatientViewAsync(client, patient.Call(prefetch: patient.Prefetch(["patient", "conditions", "medicationStatements",
            "medicationRequests", "encounters"]), fhirServer: TestServices.FhirBaseUrl, accessToken: accessToken), Ct, good);
        Assert.True(status == 200, text);

        // Refused: a replay, and a token for another audience.
        Assert.Equal(401, (await Cds.PatientViewAsync(client, patient.Call(prefetch: patient.Prefetch()), Ct, good)).Status);
        var wrong = Jwt(service + "/feedback");
        secrets.Add(wrong);
        Assert.Equal(401, (await Cds.PatientViewAsync(client, patient.Call(prefetch: patient.Prefetch()), Ct, wrong)).Status);

        // 412: the FHIR server named is down, with the access token in hand.
        var down = Jwt(service);
        secrets.Add(down);
        Assert.Equal(412, (await Cds.PatientViewAsync(client, patient.Call(prefetch: patient.Prefetch(["patient"]),
            fhirServer: new Uri("http://127.0.0.1:9/fhir"), accessToken: accessToken), Ct, down)).Status);

        // Feedback on one of the cards.
        var feedbackJwt = Jwt(service + "/feedback");
        secrets.Add(feedbackJwt);
        var card = (string)Cds.Cards(body)[0]!["uuid"]!;
        var feedback = JsonNode.Parse($$"""{"feedback":[{"card":"{{card}}","outcome":"overridden","outcomeTimestamp":"2026-12-01T10:00:00Z"}]}""")!;
        Assert.Equal(200, (await Cds.PostAsync(client, "/cds-services/healthrec-patient-risk/feedback", feedback, Ct, feedbackJwt)).Status);

        // Nor in the audit trail, which names every one of these calls: no token, and none of the record read (the
        // prefetched and fetched resources' bodies), only references to them.
        var audit = await (await fixture.Server.AuditAsync(Ct)).ReadAsync(Ct).ToListAsync(Ct);
        Assert.True(audit.Count >= 6, $"only {audit.Count} audit records for six calls");
        foreach (var entry in audit)
        {
            foreach (var part in secrets.SelectMany(s => s.Split('.')).Where(p => p.Length > 20))
            {
                Assert.False(entry.ResourceJson.Contains(part, StringComparison.Ordinal), $"audit record {entry.Seq} holds part of a token");
            }

            foreach (var type in new[] { "Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Encounter", "Bundle" })
            {
                Assert.DoesNotContain($"\"resourceType\":\"{type}\"", entry.ResourceJson, StringComparison.Ordinal);
            }
        }

        // And each is valid against its HealthRec profile: answered, refused (401), unanswerable (412), feedback.
        ProfileValidation.AssertAuditRecordsValid(audit);

        var records = fixture.Logs.GetSnapshot();
        Assert.True(records.Count > 20, $"only {records.Count} log records: the capture is not seeing the server's logs");
        foreach (var record in records)
        {
            var written = string.Join("\n", record.Message, record.Exception?.ToString() ?? "",
                string.Join("\n", record.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? []));
            foreach (var secret in secrets)
            {
                Assert.False(written.Contains(secret, StringComparison.Ordinal), $"{record.Category} [{record.Id}] wrote a token: {record.Message}");
                // Not even one of the JWT's three parts (its signature is as good as the token for a replay within its lifetime).
                foreach (var part in secret.Split('.').Where(p => p.Length > 20))
                {
                    Assert.False(written.Contains(part, StringComparison.Ordinal), $"{record.Category} [{record.Id}] wrote part of a token: {record.Message}");
                }
            }
        }
    }
}
