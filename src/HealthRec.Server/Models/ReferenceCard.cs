using HealthRec.ML.Serving;

namespace HealthRec.Server.Models;

/// <summary>The model card of a reference equation answering for an outcome: what it is, its source, population, published validation, limits.</summary>
internal static class ReferenceCard
{
    public static string Markdown(OutcomePredictor predictor)
    {
        var reference = predictor.Reference!;
        var definition = predictor.Definition;
        var ci = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.AppendLine(ci, $"# Model card: {reference.Name} ({definition.Id}, {reference.Id})");
        s.AppendLine();
        s.AppendLine(ci, $"A published risk equation, answering for **{definition.Title}** because no model trained on this site's data has beaten it at the promotion gate (the model waiting as challenger: {predictor.Manifest.Version}).");
        s.AppendLine();
        s.AppendLine("## Source");
        s.AppendLine(ci, $"{reference.Citation}. <{reference.Url}>. Coefficients from the paper's supplement, checked against published input → output pairs (the R packages preventr and CVrisk) to three decimals.");
        s.AppendLine();
        s.AppendLine("## Population it was developed for");
        s.AppendLine(reference.Population + ".");
        s.AppendLine();
        s.AppendLine("## Published validation");
        s.AppendLine(reference.Validation + ".");
        s.AppendLine();
        s.AppendLine("## How HealthRec applies it");
        s.AppendLine("- Ages 30–79, total cholesterol 130–320 mg/dL, HDL 20–100 mg/dL, systolic pressure 90–180 mmHg, eGFR 15–140 mL/min/1.73 m² (BMI 18.5–39.9 kg/m² for the equations that read it): outside them no number is given, and the card says why — never an extrapolation.");
        s.AppendLine("- Inputs are the last result within twice its window (lipids 5 years; pressure, eGFR and BMI 2 years); one older than its window is used and named on the card; none means no number. eGFR may be computed from creatinine (CKD-EPI 2021).");
        s.AppendLine("- Smoking not recorded is taken as not smoking, and the card says so. Diabetes: an active type 2 diabetes diagnosis or an HbA1c ≥ 6.5 %. Treatment: an active antihypertensive or statin.");
        s.AppendLine("- Its reasons are its own terms, grouped by risk factor, against the equation's reference person (55 years, non-HDL 135 mg/dL, HDL 50 mg/dL, systolic 110–130 mmHg, eGFR 60–90).");
        s.AppendLine();
        s.AppendLine("## Limitations");
        s.AppendLine("- Developed in US cohorts; not yet validated on this organisation's patients — the promotion gate's figures on them are in the challenger's card.");
        s.AppendLine("- The base model: urine albumin, HbA1c and social deprivation, which PREVENT's extended models use, are not read.");
        return s.ToString();
    }
}
