namespace HealthRec.Server.Tests.Transparency;

/// <summary>
/// The TRIPOD+AI checklist as the server fills it: every item a model server can know is filled for each LightGBM
/// model, the authors' items are left to them, and the number filled for the other models never drops below what it
/// is today (a filled item that becomes empty fails here).
/// </summary>
[Collection(SequentialServers.Name)]
public sealed class TripodChecklistTests
{
    // Filled today for a baseline (its test figures but no out-of-time check or fairness audit of its own) and for a
    // published equation (no training here): the floor each must keep.
    private const int BaselineFloor = 34;
    private const int EquationFloor = 28;

    [Fact]
    public async Task EveryItemTheServerKnows_IsFilledWithItsSource_AndTheAuthorsItemsAreLeftToThem()
    {
        Assert.Equal(52, TripodAiChecklist.Items.Count);
        Assert.Equal(27, TripodAiChecklist.Items.Select(i => new string([.. i.Id.TakeWhile(char.IsDigit)])).Distinct().Count());
        var knowable = TripodAiChecklist.Items.Where(i => i.ServerKnows).Select(i => i.Id).ToList();
        Assert.Equal(35, knowable.Count);

        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(), Ct);
        var catalog = server.Services.GetRequiredService<ModelCatalog>();
        foreach (var predictor in catalog.Current.Predictors.Values)
        {
            foreach (var model in SourceAttributeSets.ModelsOf(predictor))
            {
                var checklist = (await server.Client.GetFromJsonAsync<JsonObject>(new Uri($"/models/{predictor.Definition.Id}/tripod-ai?model={model}", UriKind.Relative), Ct))!;
                var items = checklist["items"]!.AsArray();
                Assert.Equal(52, items.Count);
                var filled = items.Where(i => i!["value"] is not null).ToList();
                Assert.All(filled, i => Assert.False(string.IsNullOrWhiteSpace((string?)i!["value"]) || string.IsNullOrWhiteSpace((string?)i["source"]), $"{model} {i!["id"]}"));
                // Never an author's item: the server does not write a title, an interpretation or an ethics statement.
                Assert.All(filled, i => Assert.True((bool)i!["serverKnows"]!, $"{model} filled the authors' item {i!["id"]}"));
                var what = $"{predictor.Definition.Id}/{model}: filled {string.Join(",", filled.Select(i => (string)i!["id"]!))}";
                switch (model)
                {
                    // Every item a server can know; the data's dates (5b) only where an out-of-time check or an evaluation dated them.
                    case PredictiveSubject.LightGbm:
                        Assert.True(knowable.Except(["5b"]).All(id => filled.Any(i => (string)i!["id"]! == id)), what);
                        Assert.True(predictor.Definition.Id != "t2d-5y" || knowable.SequenceEqual(filled.Select(i => (string)i!["id"]!)), what);
                        break;
                    case var m when m == predictor.Reference?.Id:
                        Assert.True(filled.Count >= EquationFloor, what);
                        break;
                    default:
                        Assert.True(filled.Count >= BaselineFloor, what);
                        break;
                }

                Assert.Equal(filled.Count, (int)checklist["filled"]!);
            }
        }
    }
}
