namespace HealthRec.Fhir.Synthetic;

/// <summary>What to generate: how many patients, from which seed, over which calendar period.</summary>
public sealed record CohortOptions
{
    public int Patients { get; init; } = 1000;

    public ulong Seed { get; init; } = 1;

    /// <summary>The first day of the simulated record (the EHR's go-live).</summary>
    public DateOnly Start { get; init; } = new(2015, 1, 1);

    public int Years { get; init; } = 13;

    /// <summary>The share of eligible observations given a data-entry error on purpose.</summary>
    public double ErrorRate { get; init; } = 0.002;
}

/// <summary>
/// Simulates one patient at a time, month by month: latent risk factors that drift, outcome hazards from published
/// risk equations, clinicians who see the patient at irregular visits, measure with noise, diagnose by guideline
/// thresholds and treat imperfectly, and treatments whose effects come from trials. Every number is documented, with
/// its source, in <c>MODEL.md</c> beside this file; a number changed here must be changed there.
/// </summary>
internal sealed partial class CohortSimulator(CohortOptions options)
{
    private const double Month = 1.0 / 12;

    // FINDRISC was derived in a Finnish cohort; scaled so incidence matches US adults (MODEL.md, "Calibration").
    private const double DiabetesCalibration = 0.3;

    // Unmeasured patient-level risk (MODEL.md, "Unmeasured risk"): the log-normal frailties' standard deviations.
    private const double CardiovascularFrailty = 0.2;
    private const double DiabetesFrailty = 0.9;
    private const double KidneyFrailty = 0.8;

    // Short-term movement of kidney function (MODEL.md, "Drift"): its relative SD, and the month-to-month correlation
    // of a three-month memory.
    private const double EgfrTransientSd = 0.12;
    private static readonly double TransientMemory = Math.Exp(-1.0 / 3);
    private static readonly DateTimeOffset SglT2Cardiorenal = new(2016, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset SglT2Ckd = new(2020, 9, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly DateTimeOffset _start = new(options.Start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    /// <summary>The stream resource ids are drawn from, after the patient's own id (its first draw).</summary>
    public static SyntheticRandom IdStream(ulong seed, int number)
    {
        var ids = new SyntheticRandom(seed, (ulong)number * 2);
        ids.Uuid();
        return ids;
    }

    public SyntheticPatient Simulate(int number)
    {
        var rng = new SyntheticRandom(options.Seed, ((ulong)number * 2) + 1);
        var s = new State(rng, _start) { Readmissions = new SyntheticRandom(options.Seed ^ ReadmissionStream, (ulong)number) };
        var patient = s.CreatePatient(number, new SyntheticRandom(options.Seed, (ulong)number * 2).Uuid());
        s.Patient = patient;
        s.InitializeBaseline();

        var months = options.Years * 12;
        var firstVisitMonth = rng.Next(12);
        for (var m = 0; m < months && patient.DeceasedAt is null; m++)
        {
            var monthStart = _start.AddMonths(m);
            s.Step(monthStart);
            if (patient.DeceasedAt is not null)
            {
                break;
            }

            var visit = m == firstVisitMonth || (m > firstVisitMonth && (s.FollowUpDue(monthStart) || rng.Chance(1 - Math.Exp(-s.VisitRate() * Month))));
            if (visit)
            {
                s.Visit(monthStart.AddDays(rng.Next(28)).AddHours(8 + rng.Next(9)).AddMinutes(rng.Next(4) * 15), options.ErrorRate);
            }
        }

        return patient;
    }

    /// <summary>One patient's hidden state and the rules that move it.</summary>
    // Readmissions draw from a stream of their own, so adding them left every other draw of a cohort unchanged.
    private const ulong ReadmissionStream = 0x5EAD_3155_1011_0030UL;

    private sealed partial class State(SyntheticRandom rng, DateTimeOffset start)
    {
        public SyntheticPatient Patient { get; set; } = null!;

        public required SyntheticRandom Readmissions { get; init; }

        private bool _female;
        private bool _black;
        private double _age;
        private double _height;
        private double _bmi;
        private double _lifestyleLoss;
        private double _sbp;
        private double _dbpOffset;
        private double _g;
        private double _ldl;
        private double _hdl;
        private double _logTg;
        private double _egfr;
        private double _logAcr;
        private double _hrOffset;
        private int _smoking; // 0 never, 1 former, 2 current
        private DateTimeOffset? _quitAt;
        private bool _active;
        private bool _vegetables;
        private int _familyHistory;
        private bool _depressed;
        private double _adherence;
        private double _careRate;
        private double _statinResponse;
        private bool _t2d;
        private bool _mi;
        private bool _stroke;
        private bool _hf;
        private bool _af;
        private DateTimeOffset? _counselledUntil;
        private DateTimeOffset? _programmeUntil;
        private DateTimeOffset? _followUpBy;
        private DateTimeOffset? _lastCheckUp;
        private DateTimeOffset? _heightMeasured;
        private int _highBpVisits;
        private DateTimeOffset? _firstLowEgfr;
        private double? _lastHbA1c;
        private double? _lastTc;
        private double? _lastHdl;
        private double? _lastEgfr;
        private double? _lastAcr;
        private bool _referred;
        private bool _adherentThisMonth;
        private int _cvdMonths;
        private double _ascvdHazard;
        private double _hfHazard;
        private (bool Smoker, bool Diabetic, int BpDrugs, bool Statin) _cvdKey;
        private double _cvFrailty;
        private double _dmFrailty;
        private double _kidneyFrailty;
        private double _egfrSlope;
        private double _egfrTransient;
        private readonly List<ConditionKind> _pendingHistory = [];
        private readonly List<Drug> _pendingHistoryDrugs = [];
        private readonly bool[] _diagnosed = new bool[Enum.GetValues<ConditionKind>().Length];

        private static double Years(DateTimeOffset from, DateTimeOffset to) => (to - from).TotalDays / 365.25;

        public SyntheticPatient CreatePatient(int number, Guid id)
        {
            _age = AgeAtBaseline();
            _female = rng.Chance(0.51);
            var hispanic = rng.Chance(0.18);
            var race = (Race)rng.Choose(hispanic ? [0.65, 0.03, 0.01, 0.01, 0.30] : [0.62, 0.15, 0.07, 0.01, 0.15]);
            _black = race == Race.Black;
            var birth = DateOnly.FromDateTime(start.UtcDateTime.AddDays(-_age * 365.25));
            var given = _female ? Names.Female[rng.Next(Names.Female.Length)] : Names.Male[rng.Next(Names.Male.Length)];
            return new SyntheticPatient
            {
                Number = number,
                Id = id,
                Sex = _female ? Sex.Female : Sex.Male,
                Race = race,
                Hispanic = hispanic,
                BirthDate = birth,
                Given = given,
                Family = Names.Family[rng.Next(Names.Family.Length)],
                Site = Site.All[rng.Choose(Site.Weights)],
            };
        }

        // US adults by age band (US Census Bureau, 2020 Census age and sex composition), uniform within each band.
        private double AgeAtBaseline()
        {
            ReadOnlySpan<double> shares = [0.21, 0.17, 0.16, 0.17, 0.15, 0.10, 0.04];
            ReadOnlySpan<double> lows = [18, 30, 40, 50, 60, 70, 80];
            ReadOnlySpan<double> highs = [30, 40, 50, 60, 70, 80, 90];
            var band = rng.Choose(shares);
            return rng.Uniform(lows[band], highs[band]);
        }

        public void InitializeBaseline()
        {
            var age = _age;
            var nonWhite = _black || Patient.Race == Race.Asian || Patient.Hispanic;
            Patient.Truth.BaselineAge = age;
            _height = _female ? rng.Normal(161.7, 6.8) : rng.Normal(175.4, 7.2);
            var bmiMedian = 26.0 + (0.08 * (Math.Min(age, 60) - 18)) - (0.05 * Math.Max(0, age - 70))
                + (_black && _female ? 1.5 : 0) - (Patient.Race == Race.Asian ? 2.5 : 0);
            _bmi = Math.Clamp(bmiMedian * Math.Exp(rng.Normal(0, 0.19)), 16, 65);
            _smoking = rng.Choose([0.64 - (0.002 * (age - 18)), 0.08 + (0.004 * (age - 18)), _female ? 0.12 : 0.16]);
            Patient.Truth.EverSmoker = _smoking > 0;
            Patient.Truth.SmokerAtBaseline = _smoking == 2;
            _active = rng.Chance(0.55 - (0.004 * (age - 18)));
            _vegetables = rng.Chance(0.55);
            _familyHistory = rng.Choose([0.60, 0.15, 0.25]);
            _adherence = rng.Beta(3.5, 1.5);
            _careRate = rng.Gamma(2.0, 0.45);
            _statinResponse = rng.Normal(0, 0.05);
            _hrOffset = rng.Normal(0, 8);
            _dbpOffset = rng.Normal(0, 5);

            _g = Math.Clamp(5.0 + (0.014 * (age - 18)) + (0.025 * (_bmi - 25)) + (_black ? 0.2 : nonWhite ? 0.1 : 0)
                + (_familyHistory == 2 ? 0.1 : 0) + rng.Normal(0, 0.3), 4.2, 6.45);
            _sbp = 108 + (0.55 * (age - 18)) + (0.6 * (_bmi - 25)) + (_female ? 0 : 4) + (_black ? 5 : 0) + rng.Normal(0, 13);
            _ldl = Math.Max(1.0, 2.4 + (0.015 * (Math.Min(age, 60) - 18)) + (0.03 * (_bmi - 25)) + rng.Normal(0, 0.8));
            _hdl = Math.Max(0.5, (_female ? 1.55 : 1.25) - (0.02 * (_bmi - 25)) + rng.Normal(0, 0.3));
            _logTg = Math.Log(1.2) + (0.03 * (_bmi - 25)) + (0.3 * (_g - 5.4)) + rng.Normal(0, 0.45);
            _egfr = Math.Clamp(125 - (0.9 * Math.Max(0, age - 18)) + rng.Normal(0, 12), 15, 140);
            _logAcr = Math.Log(8) + rng.Normal(0, 0.9);
            Patient.Truth.BaselineBmi = _bmi;
            Patient.Truth.BaselineSbp = _sbp;

            // Unmeasured risk: what no record shows (genes, diet, environment, the kidney's reserve). Mean-one
            // log-normal multipliers of the hazards, and a patient's own rate of eGFR loss around the population's.
            _cvFrailty = rng.LogNormalMeanOne(CardiovascularFrailty);
            _dmFrailty = rng.LogNormalMeanOne(DiabetesFrailty);
            _kidneyFrailty = rng.LogNormalMeanOne(KidneyFrailty);
            _egfrSlope = rng.Normal(0, 2.5);
            Patient.Truth.BaselineLdl = _ldl;

            // Conditions already present when the record begins, by age and risk factors (MODEL.md, "Baseline").
            if (rng.Chance(RiskEquations.Expit(-4.9 + (0.045 * age) + (0.09 * (_bmi - 28)) + (nonWhite ? 0.35 : 0) + (_familyHistory == 2 ? 0.5 : 0))))
            {
                _t2d = true;
                _g = 6.5 + rng.Exponential(0.8);
                _logAcr += 1.0;
                Patient.Truth.DiabetesAtBaseline = true;
                History(ConditionKind.Type2Diabetes, 0.9);
            }
            else if (_g >= 5.7)
            {
                History(ConditionKind.Prediabetes, 0.2);
            }

            if (_sbp >= 140)
            {
                History(ConditionKind.Hypertension, 0.75);
            }

            if (_ldl >= 4.1)
            {
                History(ConditionKind.Hyperlipidaemia, 0.5);
            }

            var ascvdOdds = -7.3 + (0.065 * age) + (_female ? 0 : 0.5) + (_smoking == 2 ? 0.6 : 0) + (_t2d ? 0.6 : 0) + (0.02 * (_sbp - 130));
            if (rng.Chance(RiskEquations.Expit(ascvdOdds)))
            {
                Patient.Truth.AscvdAtBaseline = true;
                if (rng.Chance(0.6))
                {
                    _mi = true;
                    History(ConditionKind.MyocardialInfarction, 0.95);
                }
                else
                {
                    _stroke = true;
                    History(ConditionKind.Stroke, 0.95);
                }
            }

            if (rng.Chance(RiskEquations.Expit(-9.5 + (0.08 * age) + (_mi ? 1.0 : 0) + (_t2d ? 0.5 : 0))))
            {
                _hf = true;
                History(ConditionKind.HeartFailure, 0.95);
            }

            if (rng.Chance(RiskEquations.Expit(-10 + (0.09 * age) + (_female ? 0 : 0.4))))
            {
                _af = true;
                History(ConditionKind.AtrialFibrillation, 0.8);
            }

            if (_egfr < 60)
            {
                History(StageOf(_egfr), 0.4);
            }

            if (_bmi >= 30)
            {
                History(ConditionKind.Obesity, 0.35);
            }

            _depressed = rng.Chance(0.07);
            if (_depressed)
            {
                History(ConditionKind.Depression, 0.5);
            }

            // Medicines taken when the record begins, recorded as MedicationStatements at the first visit.
            if (_t2d && rng.Chance(0.75) && _egfr >= 30)
            {
                _pendingHistoryDrugs.Add(Drug.Metformin);
            }

            if (_pendingHistory.Contains(ConditionKind.Hypertension) && rng.Chance(0.75))
            {
                _pendingHistoryDrugs.Add(FirstAntihypertensive());
                if (_sbp >= 150 && rng.Chance(0.4))
                {
                    _pendingHistoryDrugs.Add(Drug.Amlodipine);
                }
            }

            var statin = (_mi || _stroke) ? rng.Chance(0.7) : (_t2d && age >= 40) ? rng.Chance(0.55)
                : _ldl >= 4.9 || _pendingHistory.Contains(ConditionKind.Hyperlipidaemia) ? rng.Chance(0.5) : false;
            if (statin)
            {
                _pendingHistoryDrugs.Add(_mi || _stroke || _ldl >= 4.9 ? Drug.Atorvastatin40 : Drug.Atorvastatin20);
            }

            if (_af && _pendingHistory.Contains(ConditionKind.AtrialFibrillation) && rng.Chance(0.55))
            {
                _pendingHistoryDrugs.Add(Drug.Apixaban);
            }

            if ((_mi || _stroke) && rng.Chance(0.6))
            {
                _pendingHistoryDrugs.Add(Drug.Aspirin);
            }

            _pendingHistoryDrugs.Sort();
        }

        private void History(ConditionKind kind, double recordedShare)
        {
            if (rng.Chance(recordedShare))
            {
                _pendingHistory.Add(kind);
            }
        }
    }
}
