namespace HealthRec.Server.Smart;

/// <summary>
/// The EHR's look (SMART App Launch <c>smart_style_url</c>), reduced to what the page can use at little cost: the
/// background, text and highlight colours and the body font. Each value is kept only when it is a plain CSS colour or a
/// font list without quotes (the page's HTML encoding would break a quote inside a style element), so nothing from the
/// EHR can escape into the page's stylesheet.
/// </summary>
public sealed partial record SmartStyle(string? Background, string? Text, string? Highlight, string? FontFamily)
{
    internal static SmartStyle? From(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string? Pick(string name, Regex pattern) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { } text && pattern.IsMatch(text) ? text : null;
        var style = new SmartStyle(Pick("color_background", Colour()), Pick("color_text", Colour()), Pick("color_highlight", Colour()), Pick("font_family_body", Font()));
        return style is { Background: null, Text: null, Highlight: null, FontFamily: null } ? null : style;
    }

    /// <summary>The stylesheet rules the values make (appended after the page's own).</summary>
    internal string Css() => string.Concat(
        Background is { } background ? $"body {{ background: {background}; }} " : "",
        Text is { } text ? $"body {{ color: {text}; }} " : "",
        Highlight is { } highlight ? $"header.banner {{ background: {highlight}; }} " : "",
        FontFamily is { } font ? $"body {{ font-family: {font}; }} " : "");

    [GeneratedRegex(@"^(#[0-9A-Fa-f]{3,8}|rgba?\(\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*(,\s*(0|1|0?\.\d+)\s*)?\))$")]
    private static partial Regex Colour();

    [GeneratedRegex(@"^[A-Za-z0-9 ,\-]{1,100}$")]
    private static partial Regex Font();
}
