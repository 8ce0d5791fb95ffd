namespace HealthRec.Clinical.Risk;

/// <summary>
/// One term of an equation's linear predictor for a patient: its name, the patient's value of it, what it adds, and
/// the clinical quantity it belongs to (an interaction belongs to the risk factor it modifies: age × HDL to HDL).
/// </summary>
public sealed record EquationTerm(string Name, double Value, double Contribution, string Quantity = "");
