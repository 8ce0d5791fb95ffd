namespace HealthRec.Clinical.Risk;

/// <summary>
/// One term of an equation's linear predictor for a patient: its name, the patient's value of it, what it adds, and
/// the clinical quantity it belongs to (an interaction belongs to the risk factor it modifies: age × HDL to HDL).
/// </summary>
public sealed record EquationTerm(string Name, double Value, double Contribution, string Quantity = "");

/// <summary>
/// An equation's linear predictor being summed: each term adds its coefficient times its value and, when a list is
/// given, is listed with the quantity it belongs to (the generator sums without a list, so nothing is allocated).
/// </summary>
internal ref struct LinearPredictorSum(List<EquationTerm>? terms)
{
    public double Total { get; private set; }

    /// <summary>Adds <paramref name="beta"/> × <paramref name="value"/>; a term worth zero for this patient is left out of the list.</summary>
    public void Add(string name, double beta, double value, string quantity)
    {
        if (beta != 0 && value != 0)
        {
            Total += beta * value;
            terms?.Add(new EquationTerm(name, value, beta * value, quantity));
        }
    }
}
