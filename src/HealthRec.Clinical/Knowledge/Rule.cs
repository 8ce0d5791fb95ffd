namespace HealthRec.Clinical.Knowledge;

/// <summary>What a rule can ask about one patient at one date.</summary>
public interface IRuleContext
{
    /// <summary>A feature-schema column's value (NaN when missing).</summary>
    double Feature(string name);

    /// <summary>A condition of the group is active at the date.</summary>
    bool Has(string group);

    /// <summary>A condition of the group began on or before the date, active or not.</summary>
    bool Ever(string group);

    /// <summary>A medicine of the class is active at the date.</summary>
    bool Taking(string medicationClass);

    bool Female { get; }
}

public sealed class RuleException(string message) : Exception(message)
{
    /// <summary>The features the rule names and the vocabulary lacks, when that is the problem.</summary>
    public ImmutableArray<string> UnknownFeatures { get; init; } = [];
}

/// <summary>
/// One term of a rule that held for a patient: a comparison (<see cref="Function"/> <c>compare</c>, the feature in
/// <see cref="Name"/>, with the rule's <see cref="Threshold"/> and the patient's <see cref="Value"/>), a condition group
/// (<c>has</c>, <c>ever</c>), a medication class (<c>on</c>), or sex (<c>female</c>, <c>male</c>, no name).
/// <see cref="Negated"/> when the term does not hold for the patient: the group or class is absent, or the comparison
/// fails (as under a <c>not</c> that holds, or in what kept a rule from holding).
/// </summary>
public sealed record RuleTerm(string Function, string Name, bool Negated = false, string? Operator = null, double Threshold = double.NaN, double Value = double.NaN);

/// <summary>The names a rule may use; each is checked when the rule is compiled.</summary>
public sealed record RuleVocabulary(IReadOnlySet<string> Features, IReadOnlySet<string> ConditionGroups, IReadOnlySet<string> MedicationClasses)
{
    /// <summary>The feature schema's columns with the derived values, and the terminology's groups and classes.</summary>
    public static RuleVocabulary Of(Features.Featurizer featurizer, Terminology.ClinicalTerminology terminology) =>
        new(featurizer.Columns.Keys.Concat(DerivedValues.Names).ToHashSet(StringComparer.Ordinal), terminology.ConditionGroups, terminology.MedicationClasses);
}

/// <summary>
/// A catalog rule (<c>text/x-healthrec-rule</c>): comparisons of feature columns with numbers
/// (<c>egfr_last &lt; 30</c>) or with a derived value (<c>pce_ascvd_10y &gt;= 7.5</c>, see <see cref="DerivedValues"/>), <c>has(group)</c>, <c>ever(group)</c>, <c>on(class)</c>, <c>female</c>, <c>male</c>,
/// combined with <c>and</c>, <c>or</c>, <c>not</c> and parentheses. A missing value satisfies no comparison: a rule
/// never assumes a lab result it does not have. Compiled once (every name checked), evaluated many times.
/// </summary>
public sealed class Rule
{
    private readonly Node _root;

    private Rule(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    public string Text { get; }

    public bool Evaluate(IRuleContext context) => _root.Evaluate(context);

    /// <summary>
    /// What made the rule hold for this patient, in the rule's order, each quantity once (with the threshold it met
    /// first): the terms of every branch of an <c>or</c> that holds, with the patient's value for a comparison, and a
    /// term under <c>not</c> as absent. Empty when the rule does not hold.
    /// </summary>
    public IReadOnlyList<RuleTerm> Met(IRuleContext context) => Terms(context, holds: true);

    /// <summary>
    /// What kept the rule from holding, the same way: the terms of every part of an <c>and</c> that fails (both branches
    /// of a failing <c>or</c>), each as the patient has it ("no type 2 diabetes", "on a statin", the value or its
    /// absence). Empty when the rule holds.
    /// </summary>
    public IReadOnlyList<RuleTerm> Unmet(IRuleContext context) => Terms(context, holds: false);

    private List<RuleTerm> Terms(IRuleContext context, bool holds)
    {
        var terms = new List<RuleTerm>();
        if (_root.Evaluate(context) == holds)
        {
            _root.Collect(context, holds, terms);
        }

        return terms;
    }

    /// <summary>Parses and checks a rule; the exception names the problem and where it is.</summary>
    public static Rule Compile(string text, RuleVocabulary vocabulary)
    {
        var parser = new Parser(text, vocabulary);
        var root = parser.Expression();
        parser.End();
        return new Rule(text, root);
    }

    /// <summary>
    /// Whether the rule is one condition group, medication class or sex (<c>has(t2d)</c>), with no value to give:
    /// what the patient met is then the rule itself.
    /// </summary>
    public bool IsOneFact => _root is Call or Not { Inner: Call };

    public override string ToString() => Text;

    private abstract record Node
    {
        public abstract bool Evaluate(IRuleContext context);

        /// <summary>Adds the terms that make this node evaluate to <paramref name="holds"/>; called only when it does.</summary>
        public abstract void Collect(IRuleContext context, bool holds, List<RuleTerm> terms);

        // Each quantity once: "age_years >= 40 and age_years <= 75" met is the patient's age, said once.
        protected static void Add(List<RuleTerm> terms, RuleTerm term)
        {
            if (!terms.Exists(t => t.Function == term.Function && t.Name == term.Name && t.Negated == term.Negated))
            {
                terms.Add(term);
            }
        }
    }

    // A branch counts when it evaluates the way the whole did: a holding "or" by its holding branches, a failing "and"
    // by its failing parts; otherwise by both.
    private sealed record Or(Node Left, Node Right) : Node
    {
        public override bool Evaluate(IRuleContext context) => Left.Evaluate(context) || Right.Evaluate(context);

        public override void Collect(IRuleContext context, bool holds, List<RuleTerm> terms) => Both(Left, Right, context, holds, terms);
    }

    private sealed record And(Node Left, Node Right) : Node
    {
        public override bool Evaluate(IRuleContext context) => Left.Evaluate(context) && Right.Evaluate(context);

        public override void Collect(IRuleContext context, bool holds, List<RuleTerm> terms) => Both(Left, Right, context, holds, terms);
    }

    private static void Both(Node left, Node right, IRuleContext context, bool holds, List<RuleTerm> terms)
    {
        if (left.Evaluate(context) == holds)
        {
            left.Collect(context, holds, terms);
        }

        if (right.Evaluate(context) == holds)
        {
            right.Collect(context, holds, terms);
        }
    }

    private sealed record Not(Node Inner) : Node
    {
        public override bool Evaluate(IRuleContext context) => !Inner.Evaluate(context);

        public override void Collect(IRuleContext context, bool holds, List<RuleTerm> terms) => Inner.Collect(context, !holds, terms);
    }

    private sealed record Compare(string Feature, string Operator, double Value) : Node
    {
        public override bool Evaluate(IRuleContext context)
        {
            var x = context.Feature(Feature);
            return !double.IsNaN(x) && Operator switch
            {
                "<" => x < Value,
                "<=" => x <= Value,
                ">" => x > Value,
                ">=" => x >= Value,
                "=" => x == Value,
                _ => x != Value,
            };
        }

        public override void Collect(IRuleContext context, bool holds, List<RuleTerm> terms) =>
            Add(terms, new("compare", Feature, Negated: !holds, Operator: Operator, Threshold: Value, Value: context.Feature(Feature)));
    }

    private sealed record Call(string Function, string Argument) : Node
    {
        public override bool Evaluate(IRuleContext context) => Function switch
        {
            "has" => context.Has(Argument),
            "ever" => context.Ever(Argument),
            "on" => context.Taking(Argument),
            "female" => context.Female,
            _ => !context.Female,
        };

        public override void Collect(IRuleContext context, bool holds, List<RuleTerm> terms) => Add(terms, new(Function, Argument, Negated: !holds));
    }

    private sealed class Parser(string text, RuleVocabulary vocabulary)
    {
        private static readonly string[] Operators = ["<=", ">=", "!=", "<", ">", "="];
        private readonly List<string> _unknown = [];
        private int _at;
        private int? _firstUnknownAt;

        public Node Expression()
        {
            var left = Conjunction();
            while (Keyword("or"))
            {
                left = new Or(left, Conjunction());
            }

            return left;
        }

        public void End()
        {
            SkipSpace();
            if (_at < text.Length)
            {
                throw Error($"unexpected '{text[_at..]}'");
            }

            if (_firstUnknownAt is { } at)
            {
                var names = string.Join(", ", _unknown.Select(n => $"'{n}'"));
                throw new RuleException($"rule '{text}' at {at + 1}: unknown feature{(_unknown.Count > 1 ? "s" : "")} {names}") { UnknownFeatures = [.. _unknown] };
            }
        }

        private Node Conjunction()
        {
            var left = Negation();
            while (Keyword("and"))
            {
                left = new And(left, Negation());
            }

            return left;
        }

        private Node Negation() => Keyword("not") ? new Not(Negation()) : Atom();

        private Node Atom()
        {
            SkipSpace();
            if (Symbol("("))
            {
                var inner = Expression();
                return Symbol(")") ? inner : throw Error("')' expected");
            }

            var name = Identifier() ?? throw Error("a name, 'not' or '(' expected");
            switch (name)
            {
                case "female" or "male":
                    return new Call(name, "");
                case "has" or "ever" or "on":
                    if (!Symbol("("))
                    {
                        throw Error($"'(' expected after {name}");
                    }

                    var argument = Identifier() ?? throw Error($"a {(name == "on" ? "medication class" : "condition group")} expected");
                    var known = name == "on" ? vocabulary.MedicationClasses : vocabulary.ConditionGroups;
                    if (!known.Contains(argument))
                    {
                        throw Error($"unknown {(name == "on" ? "medication class" : "condition group")} '{argument}'");
                    }

                    return Symbol(")") ? new Call(name, argument) : throw Error("')' expected");
            }

            if (!vocabulary.Features.Contains(name))
            {
                // Read on, so that the error names every feature the rule needs and the schema lacks.
                _firstUnknownAt ??= _at - name.Length;
                if (!_unknown.Contains(name))
                {
                    _unknown.Add(name);
                }
            }

            SkipSpace();
            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(text, _at, o, 0, o.Length) == 0)
                ?? throw Error($"a comparison (<, <=, >, >=, =, !=) expected after '{name}'");
            _at += op.Length;
            SkipSpace();
            var start = _at;
            while (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] is '.' or '-'))
            {
                _at++;
            }

            return double.TryParse(text[start.._at], NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
                ? new Compare(name, op, value)
                : throw Error("a number expected");
        }

        private string? Identifier()
        {
            SkipSpace();
            var start = _at;
            while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] is '_' or '-'))
            {
                _at++;
            }

            return _at > start ? text[start.._at] : null;
        }

        private bool Keyword(string word)
        {
            SkipSpace();
            var end = _at + word.Length;
            if (string.CompareOrdinal(text, _at, word, 0, word.Length) == 0 && (end == text.Length || !char.IsAsciiLetterOrDigit(text[end]) && text[end] != '_'))
            {
                _at = end;
                return true;
            }

            return false;
        }

        private bool Symbol(string symbol)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _at, symbol, 0, symbol.Length) == 0)
            {
                _at += symbol.Length;
                return true;
            }

            return false;
        }

        private void SkipSpace()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
        }

        private RuleException Error(string problem) => new($"rule '{text}' at {_at + 1}: {problem}");
    }
}
