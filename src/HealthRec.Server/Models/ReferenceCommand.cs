using HealthRec.ML.Training;

namespace HealthRec.Server.Models;

/// <summary>
/// <c>healthrec reference</c>: writes the training feature distributions (<c>feature-reference.json</c>, what drift is
/// measured against) beside current bundles trained before bundles carried them. Only from the very data a bundle was
/// trained on: the input's fingerprint must equal the one in the bundle's provenance, and the bundle's seed picks the
/// same training patients.
/// </summary>
internal static class ReferenceCommand
{
    public static Command Create()
    {
        var inputs = new Option<string[]>("--input") { Description = "The data the bundles were trained on (as given to train). Repeatable", Required = true };
        var command = new Command("reference", "Write the training feature distributions (for drift) beside current model bundles that lack them, from the data they were trained on.");
        var data = ModelDataOptions.AddTo(command, inputs: inputs);
        command.SetAction((result, cancellationToken) => RunAsync(data.Read(result), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ModelData data, CancellationToken cancellationToken)
    {
        var (inputs, registry, _, schemaFile, terminologyFolder) = data;
        var outcomesPath = data.OutcomesPath;
        if (await InputSources.SchemaAsync(terminologyFolder, schemaFile) is not var (terms, featurizer))
        {
            return 2;
        }

        var fingerprint = InputSources.Fingerprint(inputs);
        var definitions = OutcomeFiles.Load(outcomesPath, terms).ToDictionary(d => d.Id, StringComparer.Ordinal);
        var pending = new List<(string Folder, BundleManifest Manifest)>();
        foreach (var outcome in ModelRegistry.Outcomes(registry))
        {
            var folder = ModelRegistry.CurrentFolder(registry, outcome)!;
            var manifest = ModelRegistry.ReadManifest(folder)!;
            if (FeatureReference.Load(folder) is not null)
            {
                Console.WriteLine($"{outcome} {manifest.Version}: has its reference");
            }
            else if (manifest.Provenance.DataSha256 != fingerprint)
            {
                await Console.Error.WriteLineAsync($"{outcome} {manifest.Version}: trained on other data ({manifest.Provenance.Input}, SHA-256 {manifest.Provenance.DataSha256[..12]}…, not {fingerprint[..12]}…); left without a reference");
            }
            else
            {
                pending.Add((folder, manifest));
            }
        }

        if (pending.Count == 0)
        {
            return 0;
        }

        if (await InputSources.ReadForCommandAsync(inputs, terms, cancellationToken) is not var (records, _))
        {
            return 2;
        }

        foreach (var (folder, manifest) in pending)
        {
            var (examples, _) = OutcomeExamples.Build(records, definitions[manifest.Outcome], featurizer);
            var train = examples.Where(e => PatientSplit.Of(e.PatientId, manifest.Provenance.Seed) == PatientSplit.Part.Train).Select(e => e.Features).ToList();
            FeatureReference.Build(train, featurizer.Names).Save(folder);
            Console.WriteLine($"{manifest.Outcome} {manifest.Version}: reference of {train.Count:N0} training examples written");
        }

        return 0;
    }
}
