using Markdig;

namespace HealthRec.Server.Hosting;

/// <summary>
/// Markdown as the staff pages show it (a card's detail as an EHR renders it, a model card): CommonMark with pipe
/// tables, raw HTML shown as text — a card or a model card can never inject markup into a page.
/// </summary>
public static class MarkdownHtml
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseAutoLinks().DisableHtml().Build();

    /// <summary>The HTML of a Markdown text (safe to place in a page: HTML in the input is escaped).</summary>
    public static string Render(string? markdown) => string.IsNullOrEmpty(markdown) ? "" : Markdown.ToHtml(markdown, Pipeline);
}
