using System.ComponentModel.DataAnnotations;

namespace HealthRec.Server.CdsHooks;

/// <summary>Settings under <c>CdsHooks</c>.</summary>
public sealed class CdsHooksOptions
{
    public const string Section = "CdsHooks";

    /// <summary>Folder holding one CDS Service definition (<c>*.json</c>) per service; relative to the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "CdsHooks:DefinitionsPath must name the folder of CDS Service definitions, e.g. hooks")]
    public string DefinitionsPath { get; set; } = "hooks";
}
