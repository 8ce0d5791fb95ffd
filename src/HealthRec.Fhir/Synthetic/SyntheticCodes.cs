namespace HealthRec.Fhir.Synthetic;

/// <summary>
/// The codes the synthetic cohort writes, kept as data beside the writer (<c>Synthetic/synthetic-codes.json</c>, embedded
/// in the assembly): per observation kind its LOINC code and unit (and a site's local one, with the conversion), per
/// condition its SNOMED CT and ICD-10-CM codes, per medicine its RxNorm ingredient. Every kind must be in the file.
/// </summary>
internal static class SyntheticCodes
{
    private const string Resource = "HealthRec.Fhir.Synthetic.synthetic-codes.json";

    private static readonly Table Codes = Clinical.EmbeddedData.Read<Table>(typeof(SyntheticCodes).Assembly, Resource);

    private static readonly ObservationCodes[] Observations = ByKind<ObsKind, ObservationCodes>(Codes.Observations);
    private static readonly ConditionCode[] Conditions = ByKind<ConditionKind, ConditionCode>(Codes.Conditions);
    private static readonly DrugCode[] Drugs = ByKind<Drug, DrugCode>(Codes.Drugs);

    /// <summary>How <paramref name="kind"/> is coded at <paramref name="site"/>: the site's local code and unit where it uses one.</summary>
    public static ObservationCode Observation(ObsKind kind, Site site)
    {
        var codes = Observations[(int)kind];
        var local = codes.LocalWhen switch
        {
            nameof(Site.SiLabs) => site.SiLabs,
            nameof(Site.IfccHbA1c) => site.IfccHbA1c,
            nameof(Site.ImperialBody) => site.ImperialBody,
            _ => false,
        };
        return local && codes.Local is { } localCode ? localCode : codes.Usual;
    }

    public static ConditionCode Condition(ConditionKind kind) => Conditions[(int)kind];

    public static DrugCode Medicine(Drug drug) => Drugs[(int)drug];

    private static TCode[] ByKind<TKind, TCode>(Dictionary<string, TCode> codes)
        where TKind : struct, Enum
    {
        var missing = Enum.GetNames<TKind>().Where(name => !codes.ContainsKey(name)).ToList();
        return missing.Count > 0
            ? throw new InvalidOperationException($"{Resource} has no codes for {typeof(TKind).Name} {string.Join(", ", missing)}.")
            : [.. Enum.GetValues<TKind>().Select(kind => codes[kind.ToString()])];
    }

    private sealed record Table(string Description, Dictionary<string, ObservationCodes> Observations, Dictionary<string, ConditionCode> Conditions,
        Dictionary<string, DrugCode> Drugs);

    private sealed record ObservationCodes(ObservationCode Usual, string? LocalWhen, ObservationCode? Local);
}

/// <summary>An observation's code and unit; a value in the simulator's conventional unit is written as (value − subtract) ÷ divide × multiply.</summary>
internal sealed record ObservationCode(string Loinc, string Display, string Unit, string Ucum, int Decimals = 0, double Subtract = 0, double Divide = 1,
    double Multiply = 1)
{
    public double Convert(double value) => (value - Subtract) / Divide * Multiply;
}

internal sealed record ConditionCode(string Snomed, string SnomedDisplay, string Icd10cm, string Icd10cmDisplay);

internal sealed record DrugCode(string RxNorm, string Ingredient, string Product, string Dosage);
