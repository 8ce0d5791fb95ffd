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
        s.AppendLine(ci, $"{reference.Citation}. <{reference.Url}>. {reference.Card.Checked}");
        s.AppendLine();
        s.AppendLine("## Population it was developed for");
        s.AppendLine(reference.Population + ".");
        s.AppendLine();
        s.AppendLine("## Published validation");
        s.AppendLine(reference.Validation + ".");
        s.AppendLine();
        s.AppendLine("## How HealthRec applies it");
        foreach (var line in reference.Card.Application)
        {
            s.AppendLine(ci, $"- {line}");
        }

        s.AppendLine();
        s.AppendLine("## Limitations");
        foreach (var line in reference.Card.Limitations)
        {
            s.AppendLine(ci, $"- {line}");
        }

        return s.ToString();
    }
}
