namespace HealthRec.Server.Tests.CdsHooks;

/// <summary>
/// A patient whose estimates are all in their lowest band: no risk card, since nothing there is actionable — unless
/// an input the record holds could not be read, when "low" is said with what it lacks rather than left to silence.
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class LowestBandTests(CdsServer fixture) : IClassFixture<CdsServer>
{
    private HttpClient Client => fixture.Server.Client;

    [Fact]
    public async Task GivenAYoungPatientWithNormalRecentResults_WhenPatientViewIsCalled_ThenNoRiskCardIsShown()
    {
        var patient = new PatientFixture("female", 27)
            .Lab("4548-4", 5.1m, "%", 30).Lab("13457-7", 95, "mg/dL", 30).Lab("2085-9", 62, "mg/dL", 30).Lab("33914-3", 112, "mL/min/{1.73_m2}", 30)
            .Lab("39156-5", 22.4m, "kg/m2", 30).Lab("44261-6", 1, "{score}", 30).BloodPressure(112, 72, 30).NeverSmoked(30).Visit(30);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        Assert.DoesNotContain(Cds.Cards(body), c => ((string)c!["source"]!["topic"]!["code"]!).StartsWith("risk-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GivenTheSamePatientWithANewerHbA1cThatCannotBeRead_WhenPatientViewIsCalled_ThenHerLowDiabetesRiskIsSaidWithWhatItLacks()
    {
        // As above, and last week an HbA1c the source wrote in mg/dL: "low" made without it is not "checked and fine".
        var patient = new PatientFixture("female", 27)
            .Lab("4548-4", 5.1m, "%", 30).Lab("13457-7", 95, "mg/dL", 30).Lab("2085-9", 62, "mg/dL", 30).Lab("33914-3", 112, "mL/min/{1.73_m2}", 30)
            .Lab("39156-5", 22.4m, "kg/m2", 30).Lab("44261-6", 1, "{score}", 30).BloodPressure(112, 72, 30).NeverSmoked(30).Visit(30)
            .Lab("4548-4", 6.4m, "mg/dL", 7);

        var body = await Cds.AnsweredAsync(Client, patient.Call(prefetch: patient.Prefetch()), Ct);

        var card = Cds.Cards(body).Single(c => (string)c!["source"]!["topic"]!["code"]! == "risk-t2d-5y")!;
        Assert.Equal("info", (string)card["indicator"]!);
        Assert.EndsWith("(low; an input could not be read)", (string)card["summary"]!, StringComparison.Ordinal);
        var detail = (string)card["detail"]!;
        Assert.Contains("A newer HbA1c could not be read: HbA1c recorded", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("HbA1c: not recorded", detail, StringComparison.Ordinal);
    }
}
