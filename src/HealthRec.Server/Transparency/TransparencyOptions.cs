namespace HealthRec.Server.Transparency;

/// <summary>
/// Settings under <c>Transparency</c>: who develops and funds the interventions this deployment serves (a site that
/// changes or retrains them names itself), and when a measured source attribute counts as stale.
/// </summary>
public sealed class TransparencyOptions
{
    public const string Section = "Transparency";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Transparency:DeveloperName must name the developer, e.g. the HealthRec project or your organisation")]
    public string DeveloperName { get; set; } = "The HealthRec project (open source)";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Transparency:DeveloperContact must say how to reach the developer")]
    public string DeveloperContact { get; set; } = "The HealthRec repository's issue tracker; for this deployment, its operator";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Transparency:FundingSource must name the funding of the technical implementation, or say there is none")]
    public string FundingSource { get; set; } = "No external funding: built by the HealthRec project's contributors";

    /// <summary>A measured attribute older than this many days is marked stale (its job has not refreshed it).</summary>
    [Range(1, 3650, ErrorMessage = "Transparency:StaleAfterDays must be between 1 and 3650")]
    public int StaleAfterDays { get; set; } = 30;
}
