namespace HealthRec.Clinical.Terminology;

/// <summary>
/// A condition group or medication class as a clinician reads it inside a sentence ("has type 2 diabetes", "on a
/// high-intensity statin", "already taking an ACE inhibitor"). The terminology's ValueSet titles name the set of codes
/// ("ACE inhibitors", "Statins (HMG-CoA reductase inhibitors)"), which does not read inside a sentence; ids not listed
/// here read as themselves, hyphens as spaces.
/// </summary>
public static class ClinicalWords
{
    public static string Group(string? id) => id switch
    {
        "t2d" => "type 2 diabetes",
        "ckd" => "chronic kidney disease",
        "ascvd" => "atherosclerotic cardiovascular disease",
        "ascvd-event" => "MI or stroke",
        "stroke" => "stroke or TIA",
        "statin" => "a statin",
        "sglt2-inhibitor" => "an SGLT2 inhibitor",
        "glp1-agonist" => "a GLP-1 agonist",
        "ace-inhibitor" => "an ACE inhibitor",
        "arb" => "an ARB",
        "ccb" => "a calcium-channel blocker",
        "thiazide" => "a thiazide diuretic",
        "nsaid" => "an NSAID",
        "statin-high-intensity" => "a high-intensity statin",
        "statin-moderate-intensity" => "a moderate-intensity statin",
        "statin-low-intensity" => "a low-intensity statin",
        null => "",
        _ => id.Replace('-', ' '),
    };
}
