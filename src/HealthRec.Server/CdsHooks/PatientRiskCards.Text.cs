namespace HealthRec.Server.CdsHooks;

/// <summary>How cards word things: bands, percentages, summaries within 140 characters, Markdown escaping.</summary>
internal sealed partial class PatientRiskCards
{
    /// <summary>
    /// The outcome's bands in words; without named bands, those from the threshold: a model's operating threshold, or
    /// for an equation (which has none) the outcome's decision threshold.
    /// </summary>
    internal static string Bands(OutcomeDefinition definition, double threshold, bool byEquation)
    {
        if (definition.Bands.IsEmpty)
        {
            var from = byEquation ? "the outcome's decision threshold" : "the model's operating threshold";
            return string.Create(Ci, $"Bands: high from {from} ({Percent(threshold)}), intermediate from half of it.");
        }

        var parts = new List<string>();
        for (var i = 0; i < definition.Bands.Length; i++)
        {
            var band = definition.Bands[i];
            parts.Add(i + 1 == definition.Bands.Length ? string.Create(Ci, $"{band.Name} ≥ {Percent(band.From)}")
                : band.From <= 0 ? string.Create(Ci, $"{band.Name} < {Percent(definition.Bands[i + 1].From)}")
                : string.Create(Ci, $"{band.Name} {Percent(band.From)}–{Percent(definition.Bands[i + 1].From)}"));
        }

        return $"Bands: {string.Join(", ", parts)}.";
    }

    // No estimate is a certainty: the ends read "<1%" and ">99%".
    internal static string Percent(double p) => p switch
    {
        < 0.01 => "<1%",
        > 0.99 => ">99%",
        < 0.1 => string.Create(Ci, $"{p * 100:0.#}%"),
        _ => string.Create(Ci, $"{p * 100:0}%"),
    };

    // A model's factors are what it learned goes with the outcome, not effects: "not on metformin (lowers the risk)" is
    // who was treated in its training data (confounding by indication), never advice. Said wherever factors are shown.
    internal static string FactorsHeading(bool byEquation) => byEquation
        ? "What the equation weighs most for this patient (against a 55-year-old with average values):"
        : "What moved this estimate most (what the model learned goes with the outcome, not what changing it would do):";

    // The specification: a one-sentence summary under 140 characters.
    internal static string Summary(string text) => text.Length < 140 ? text : text[..136] + "…";

    // "Subject: what was found" within 140 characters. A long subject (a drug's full name, whole in the detail) is
    // shortened first; then the finding gives way to its headline, the fewest words that say it ("… not checked").
    internal static string Summary(string subject, string said, string headline)
    {
        foreach (var words in new[] { said, headline })
        {
            var room = 139 - words.Length - 2;
            if (subject.Length <= room)
            {
                return $"{subject}: {words}";
            }

            if (room >= 20)
            {
                return $"{subject[..(room - 1)].TrimEnd()}…: {words}";
            }
        }

        return Summary($"{subject}: {headline}");
    }

    private static string Label(string text) => text.Length <= 80 ? text : text[..79] + "…";

    private static string SuggestionSummary(List<string> titles)
    {
        for (var shown = titles.Count; shown > 0; shown--)
        {
            var text = "Consider: " + string.Join(", ", titles.Take(shown)) + (shown < titles.Count ? $" and {titles.Count - shown} more" : "");
            if (text.Length < 140)
            {
                return text;
            }
        }

        return Summary($"Consider: {titles[0]}");
    }

    // "Incident type 2 diabetes" → "incident type 2 diabetes"; "HbA1c in one year" and "10-year ASCVD risk" stay as they are.
    internal static string LowerFirst(string text)
    {
        var word = text.Split(' ')[0];
        return word.Length > 1 && char.IsUpper(word[0]) && word.Skip(1).All(char.IsLower) ? char.ToLowerInvariant(text[0]) + text[1..] : text;
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    // Words from the catalog and the models are plain text: keep Markdown from reading them as formatting.
    internal static string Markdown(string text)
    {
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '\\' or '*' or '_' or '[' or ']' or '`' or '#' or '<' or '>' or '|')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
