using HealthRec.Clinical.Records;
using HealthRec.Clinical.Risk;

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
internal sealed class CohortSimulator(CohortOptions options)
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

    private sealed class State(SyntheticRandom rng, DateTimeOffset start)
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

        public double VisitRate()
        {
            var chronic = 0;
            foreach (var kind in (ReadOnlySpan<ConditionKind>)[ConditionKind.Type2Diabetes, ConditionKind.Hypertension, ConditionKind.HeartFailure,
                         ConditionKind.CkdStage3, ConditionKind.MyocardialInfarction, ConditionKind.Stroke, ConditionKind.AtrialFibrillation])
            {
                chronic += _diagnosed[(int)kind] ? 1 : 0;
            }

            return _careRate + (0.25 * chronic) + (_age >= 65 ? 0.3 : 0);
        }

        public bool FollowUpDue(DateTimeOffset monthStart)
        {
            if (_followUpBy is { } due && due <= monthStart.AddMonths(1))
            {
                _followUpBy = null;
                return true;
            }

            return false;
        }

        // ---- one month of physiology, events and treatment effects ----

        public void Step(DateTimeOffset monthStart)
        {
            _age += Month;
            _adherentThisMonth = rng.Chance(_adherence);
            var sqrtMonth = Math.Sqrt(Month);

            var bmiBefore = _bmi;
            _bmi += ((_age < 55 ? 0.15 : _age < 70 ? 0.0 : -0.12) * Month) + rng.Normal(0, 0.5 * sqrtMonth);
            _bmi = Math.Clamp(_bmi, 15, 70);
            _lifestyleLoss *= Math.Exp(-Month / 3.0);
            _sbp += (0.5 * Month) + (0.6 * (_bmi - bmiBefore)) + rng.Normal(0, 1.5 * sqrtMonth);
            _sbp = Math.Clamp(_sbp, 85, 230);
            if (_t2d)
            {
                _g = Math.Clamp(_g + (0.06 * Month) + rng.Normal(0, 0.1 * sqrtMonth), 6.5, 14);
            }
            else
            {
                _g = Math.Clamp(_g + ((0.01 + (0.02 * (Bmi - 27) / 5)) * Month) + rng.Normal(0, 0.08 * sqrtMonth), 4.2, 6.45);
            }

            _ldl = Math.Max(0.8, _ldl + ((_age < 60 ? 0.015 : -0.01) * Month) + rng.Normal(0, 0.1 * sqrtMonth));
            _hdl = Math.Max(0.5, _hdl + rng.Normal(0, 0.03 * sqrtMonth));
            _logTg += rng.Normal(0, 0.05 * sqrtMonth);

            var aging = _age > 40 ? 0.8 : 0.3;
            var disease = (_t2d ? 1.5 : 0) + (0.5 * Math.Max(0, HbA1c - 7)) + (0.08 * Math.Max(0, Sbp - 130)) + (_logAcr >= Math.Log(30) ? 1.5 : 0);
            if (On(Drug.Empagliflozin))
            {
                disease *= 0.6;
            }

            if (OnRaas() && _logAcr >= Math.Log(30))
            {
                disease *= 0.8;
            }

            _egfr = Math.Clamp(_egfr - ((((aging + disease) * _kidneyFrailty) + _egfrSlope) * Month) + rng.Normal(0, 1.0 * sqrtMonth), 4, 140);

            // Acute kidney injury, which the record does not foresee: a loss of 5–25 mL/min/1.73 m² that does not recover.
            var aki = 0.015 * (_age >= 65 ? 2 : 1) * (_t2d ? 1.5 : 1) * (_hf ? 2 : 1);
            if (rng.Chance(P(aki)))
            {
                _egfr = Math.Max(4, _egfr - rng.Uniform(5, 25));
            }
            _logAcr += ((0.03 + (_t2d ? 0.12 : 0) + (0.01 * Math.Max(0, Sbp - 130))) * Month) + rng.Normal(0, 0.15 * sqrtMonth);
            // Kidney function also moves for weeks to months (illness, volume, diet, medicines) and comes back: a relative
            // deviation with a three-month memory, seen by every creatinine drawn meanwhile.
            _egfrTransient = (TransientMemory * _egfrTransient) + rng.Normal(0, EgfrTransientSd * Math.Sqrt(1 - (TransientMemory * TransientMemory)));

            if (_egfr < 60 && Patient.Truth.CkdOnset is null)
            {
                Patient.Truth.CkdOnset = monthStart;
            }

            Events(monthStart);
            Discontinuations(monthStart);
        }

        private double Bmi => _bmi - _lifestyleLoss;

        private int BpDrugs()
        {
            var n = 0;
            foreach (var drug in (ReadOnlySpan<Drug>)[Drug.Lisinopril, Drug.Losartan, Drug.Hydrochlorothiazide, Drug.Amlodipine])
            {
                n += On(drug) ? 1 : 0;
            }

            return n;
        }

        // Measured systolic pressure: each drug lowers it by about 9 mmHg at standard dose (Law MR et al. BMJ 2009;338:b1665).
        private double Sbp => _sbp - (9 * BpDrugs());

        private double Dbp => (0.45 * _sbp) + 22 - (0.2 * Math.Max(0, _age - 55)) + _dbpOffset - (5 * BpDrugs());

        private double StatinReduction => On(Drug.Atorvastatin40) || On(Drug.Rosuvastatin20) ? 0.50 + _statinResponse
            : On(Drug.Atorvastatin20) ? 0.35 + _statinResponse : 0;

        private double Ldl => _ldl * (1 - StatinReduction);

        private double HbA1c => _g - (On(Drug.Metformin) ? (_t2d ? 1.0 : 0.15) : 0) - (On(Drug.Empagliflozin) && _t2d ? 0.6 : 0);

        private double LogAcr => _logAcr - (OnRaas() ? 0.4 : 0);

        private bool OnRaas() => On(Drug.Lisinopril) || On(Drug.Losartan);

        /// <summary>Taking the drug this month: prescribed, current, and adherent.</summary>
        private bool On(Drug drug) => _adherentThisMonth && Prescribed(drug);

        private bool Prescribed(Drug drug)
        {
            foreach (var medication in Patient.Medications)
            {
                if (medication.Drug == drug && medication.End is null)
                {
                    return true;
                }
            }

            return false;
        }

        private bool PrescribedStatin() => Prescribed(Drug.Atorvastatin20) || Prescribed(Drug.Atorvastatin40) || Prescribed(Drug.Rosuvastatin20);

        private static double P(double yearlyHazard) => 1 - Math.Exp(-yearlyHazard * Month);

        private void Events(DateTimeOffset monthStart)
        {
            var when = monthStart.AddDays(rng.Next(28)).AddHours(rng.Next(24));

            // Type 2 diabetes: FINDRISC 10-year risk, steepened by glycaemia, lowered by metformin and lifestyle (DPP).
            if (!_t2d)
            {
                var score = RiskEquations.Findrisc(_age, Bmi, _active, _vegetables, PrescribedBpDrugs() > 0, _g >= 5.7 || _diagnosed[(int)ConditionKind.Prediabetes], _familyHistory);
                var h = DiabetesCalibration * RiskEquations.HazardFromRisk(RiskEquations.Findrisc10Year(score), 10) * Math.Clamp(Math.Exp(2.0 * (_g - 5.7)), 0.2, 4)
                    * _dmFrailty;
                h *= On(Drug.Metformin) ? 0.69 : 1;
                h *= _programmeUntil is { } until ? (when <= until ? 0.42 : 0.66) : 1;
                Patient.Truth.DiabetesHazard ??= h;
                if (rng.Chance(P(h)))
                {
                    _t2d = true;
                    _g = Math.Max(_g + 0.3, 6.5 + rng.Exponential(0.6));
                    Patient.Truth.DiabetesOnset ??= when;
                }
            }

            // Hard ASCVD and heart failure: the PREVENT equations on the current levels and treatments, as a clinician
            // measuring today would enter them (so that treatment lowers risk as the equations say it does). Their
            // inputs move slowly: evaluated every third month, and whenever smoking, diabetes or a prescription changes.
            var cvdKey = (Smoker: _smoking == 2, Diabetic: _t2d, BpDrugs: PrescribedBpDrugs(), Statin: PrescribedStatin());
            if (_cvdMonths-- <= 0 || cvdKey != _cvdKey)
            {
                var hdl = _hdl * 38.67;
                var tc = (Ldl + _hdl + (Math.Exp(_logTg) / 2.2)) * 38.67;
                // A 10-year risk already spans ten years of ageing: the hazard at age a is the one the equation implies at
                // a − 5, so that the hazards summed over the next ten years give the equation's risk at a.
                var age = _age - 5;
                var inputs = new PreventInputs(_female, Math.Clamp(age, PreventEquations.MinAge, PreventEquations.MaxAge), tc, hdl, Sbp,
                    Bmi, Math.Clamp(_egfr, 15, 140), cvdKey.BpDrugs > 0, cvdKey.Statin, cvdKey.Smoker, cvdKey.Diabetic);
                var outside = age < PreventEquations.MinAge ? Math.Exp(0.09 * (age - PreventEquations.MinAge))
                    : age > PreventEquations.MaxAge ? Math.Exp(0.05 * (age - PreventEquations.MaxAge)) : 1;
                _ascvdHazard = RiskEquations.HazardFromRisk(PreventEquations.TenYearRisk(PreventOutcome.Ascvd, inputs), 10) * outside * _cvFrailty;
                _hfHazard = RiskEquations.HazardFromRisk(PreventEquations.TenYearRisk(PreventOutcome.HeartFailure, inputs), 10) * outside * _cvFrailty;
                _cvdMonths = 2;
                _cvdKey = cvdKey;
            }

            var ascvd = _ascvdHazard;
            ascvd *= _smoking == 1 && _quitAt is { } quit && Years(quit, when) < 2 ? 1.3 : 1;
            ascvd *= _mi || _stroke ? 2.0 : 1;
            ascvd *= LogAcr >= Math.Log(30) ? 1.4 : 1;
            ascvd *= _depressed ? 1.3 : 1;
            ascvd *= (_mi || _stroke) && On(Drug.Aspirin) ? 0.81 : 1;
            var strokeShare = _female ? 0.45 : 0.35;
            var strokeHazard = ascvd * strokeShare * (_af ? 4.0 * (On(Drug.Apixaban) ? 0.36 : 1) : 1);
            var miHazard = ascvd * (1 - strokeShare);
            Patient.Truth.AscvdHazard ??= strokeHazard + miHazard;
            if (rng.Chance(P(miHazard)))
            {
                AcuteEvent(ConditionKind.MyocardialInfarction, when, 0.10);
                return;
            }

            if (rng.Chance(P(strokeHazard)))
            {
                AcuteEvent(ConditionKind.Stroke, when, 0.15);
                return;
            }

            if (!_hf)
            {
                var h = _hfHazard * (_mi ? 3.0 : 1) * (_af ? 2.0 : 1) * (On(Drug.Empagliflozin) ? 0.69 : 1);
                if (rng.Chance(P(h)))
                {
                    _hf = true;
                    AcuteEvent(ConditionKind.HeartFailure, when, 0.05);
                    return;
                }
            }

            if (!_af && rng.Chance(P(0.005 * Math.Exp(0.08 * (_age - 75)) * (_sbp >= 140 ? 1.4 : 1) * (Bmi >= 30 ? 1.5 : 1)
                    * (_hf ? 2.5 : 1) * (_female ? 1 : 1.5))))
            {
                _af = true;
            }

            if (_depressed ? rng.Chance(P(0.9)) : rng.Chance(P(0.05 * (_female ? 1.6 : 1) * (_age < 30 ? 1.3 : 1))))
            {
                _depressed = !_depressed;
                if (!_depressed)
                {
                    foreach (var condition in Patient.Conditions)
                    {
                        if (condition.Kind == ConditionKind.Depression && condition.Abatement is null)
                        {
                            condition.Abatement = when;
                        }
                    }

                    _diagnosed[(int)ConditionKind.Depression] = false;
                }
            }

            if (_smoking == 2 && rng.Chance(P(0.05 * (_counselledUntil is { } c && c >= when ? 1.66 : 1))))
            {
                _smoking = 1;
                _quitAt = when;
            }

            var death = Math.Exp(-10.5 + (0.088 * _age)) * (_female ? 0.75 : 1) * (_t2d ? 1.8 : 1) * (_smoking == 2 ? 2.2 : 1)
                * (_hf ? 2.5 : 1) * (_egfr < 45 ? 1.7 : 1) * (_mi || _stroke ? 1.5 : 1);
            if (rng.Chance(P(death)))
            {
                Patient.DeceasedAt = when;
            }
        }

        private void AcuteEvent(ConditionKind kind, DateTimeOffset when, double caseFatality)
        {
            if (kind is ConditionKind.MyocardialInfarction or ConditionKind.Stroke)
            {
                Patient.Truth.FirstAscvdEvent ??= when;
                _mi |= kind == ConditionKind.MyocardialInfarction;
                _stroke |= kind == ConditionKind.Stroke;
            }

            var encounter = Patient.Encounters.Count;
            var days = 2 + rng.Next(5);
            Patient.Encounters.Add(new SimEncounter(EncounterKind.Admission, when, when.AddDays(days)));
            Diagnose(kind, when, when, encounter);
            if (rng.Chance(caseFatality))
            {
                Patient.DeceasedAt = when.AddDays(rng.Next(days + 1));
                return;
            }

            var discharge = when.AddDays(days);
            if (kind is ConditionKind.MyocardialInfarction or ConditionKind.Stroke)
            {
                if (!Prescribed(Drug.Atorvastatin40) && !Prescribed(Drug.Rosuvastatin20) && rng.Chance(0.85))
                {
                    Stop(Drug.Atorvastatin20, discharge);
                    Prescribe(Drug.Atorvastatin40, discharge, encounter);
                }

                if (!Prescribed(Drug.Aspirin) && !Prescribed(Drug.Apixaban) && rng.Chance(0.85))
                {
                    Prescribe(Drug.Aspirin, discharge, encounter);
                }

                if (kind == ConditionKind.MyocardialInfarction && !OnRaasPrescribed() && rng.Chance(0.5) && (_lastEgfr ?? _egfr) >= 30)
                {
                    Prescribe(Drug.Lisinopril, discharge, encounter);
                }
            }

            _followUpBy = discharge.AddDays(14 + rng.Next(30));
            Readmit(kind, discharge);
        }

        // An unplanned readmission within 30 days of discharge, at about the national rates (MODEL.md), more likely
        // when older, with heart failure, diabetes or reduced kidney function.
        private void Readmit(ConditionKind kind, DateTimeOffset discharge)
        {
            var rate = kind switch
            {
                ConditionKind.HeartFailure => 0.21,
                ConditionKind.MyocardialInfarction => 0.16,
                _ => 0.13,
            };
            var odds = rate / (1 - rate) * Math.Pow(1.1, (_age - 75) / 10) * (_hf && kind != ConditionKind.HeartFailure ? 1.3 : 1)
                * (_t2d ? 1.2 : 1) * (_egfr < 45 ? 1.4 : 1);
            if (!Readmissions.Chance(odds / (1 + odds)))
            {
                return;
            }

            var start = discharge.AddDays(1 + Readmissions.Next(30)).AddHours(Readmissions.Next(24));
            Patient.Encounters.Add(new SimEncounter(EncounterKind.Admission, start, start.AddDays(2 + Readmissions.Next(5))));
        }

        private bool OnRaasPrescribed() => Prescribed(Drug.Lisinopril) || Prescribed(Drug.Losartan);

        private void Discontinuations(DateTimeOffset monthStart)
        {
            foreach (var medication in Patient.Medications)
            {
                if (medication.End is null && medication.Start < monthStart && rng.Chance(P(0.10)))
                {
                    medication.End = monthStart.AddDays(rng.Next(28));
                }
            }
        }

        // ---- a visit: measure, diagnose, treat ----

        public void Visit(DateTimeOffset at, double errorRate)
        {
            var first = Patient.Encounters.TrueForAll(e => e.Kind == EncounterKind.Admission);
            var checkUp = first || _lastCheckUp is null || Years(_lastCheckUp.Value, at) > 0.85;
            var encounter = Patient.Encounters.Count;
            Patient.Encounters.Add(new SimEncounter(checkUp ? EncounterKind.CheckUp : EncounterKind.FollowUp, at, at.AddMinutes(20 + (5 * rng.Next(5)))));
            if (checkUp)
            {
                _lastCheckUp = at;
            }

            if (first)
            {
                RecordHistory(at, encounter);
            }

            var vitalsAt = at.AddMinutes(5);
            var labsAt = at.AddMinutes(40 + rng.Next(60));

            double? sbp = null;
            if (rng.Chance(0.95))
            {
                sbp = Math.Round(Sbp + rng.Normal(0, 7));
                var dbp = Math.Round(Math.Clamp(Dbp + rng.Normal(0, 5), 40, 140));
                Observe(ObsKind.BloodPressure, encounter, vitalsAt, Math.Clamp(sbp.Value, 70, 260), dbp, errorRate);
                _highBpVisits = sbp >= 140 || dbp >= 90 ? _highBpVisits + 1 : 0;
            }

            var weighed = rng.Chance(0.85);
            if (weighed)
            {
                var weight = (Bmi * _height * _height / 10000) + rng.Normal(0, 0.8);
                Observe(ObsKind.Weight, encounter, vitalsAt, Math.Round(weight, 1), 0, errorRate);
                if (_heightMeasured is null ? rng.Chance(0.9) : rng.Chance(0.1))
                {
                    Observe(ObsKind.Height, encounter, vitalsAt, Math.Round(_height + rng.Normal(0, 0.7), 1), 0, errorRate);
                    _heightMeasured = at;
                }

                if (_heightMeasured is not null && rng.Chance(0.9))
                {
                    Observe(ObsKind.Bmi, encounter, vitalsAt, Math.Round(weight / (_height * _height / 10000), 1), 0, errorRate);
                }
            }

            if (rng.Chance(0.7))
            {
                Observe(ObsKind.HeartRate, encounter, vitalsAt, Math.Round(Math.Clamp(72 + _hrOffset + (0.2 * (Bmi - 27)) + rng.Normal(0, 6), 40, 150)), 0, errorRate);
            }

            var askedSmoking = rng.Chance(first ? 0.8 : 0.3);
            if (askedSmoking)
            {
                Observe(ObsKind.Smoking, encounter, vitalsAt, _smoking, 0, errorRate);
            }

            var t2dDx = _diagnosed[(int)ConditionKind.Type2Diabetes];
            var ckdDx = _diagnosed[(int)ConditionKind.CkdStage3] || _diagnosed[(int)ConditionKind.CkdStage4] || _diagnosed[(int)ConditionKind.CkdStage5];
            var htnDx = _diagnosed[(int)ConditionKind.Hypertension];
            var ascvdDx = _diagnosed[(int)ConditionKind.MyocardialInfarction] || _diagnosed[(int)ConditionKind.Stroke];

            double? hba1c = null;
            if (rng.Chance(t2dDx ? 0.85 : _diagnosed[(int)ConditionKind.Prediabetes] ? 0.5 : _age >= 45 || Bmi >= 25 ? 0.25 : 0.08))
            {
                hba1c = Math.Round(Math.Clamp(HbA1c + rng.Normal(0, 0.12), 4.0, 16), 1);
                Observe(ObsKind.HbA1c, encounter, labsAt, hba1c.Value, 0, errorRate);
            }

            double? fpg = null;
            if (rng.Chance(t2dDx ? 0.4 : 0.25))
            {
                fpg = Math.Round(Math.Max(55, (28.7 * HbA1c) - 46.7 - 25 + rng.Normal(0, 10)));
                Observe(ObsKind.FastingGlucose, encounter, labsAt, fpg.Value, 0, errorRate);
            }

            double? ldl = null;
            if (rng.Chance(PrescribedStatin() || ascvdDx || t2dDx ? 0.6 : _age >= 40 ? 0.3 : 0.12))
            {
                ldl = Math.Round(Ldl * 38.67 * (1 + rng.Normal(0, 0.06)));
                var hdl = Math.Round(_hdl * 38.67 * (1 + rng.Normal(0, 0.05)));
                var tg = Math.Round(Math.Exp(_logTg + rng.Normal(0, 0.15)) * 88.57);
                var tc = Math.Round(ldl.Value + hdl + (tg / 5));
                Observe(ObsKind.Ldl, encounter, labsAt, ldl.Value, 0, errorRate);
                Observe(ObsKind.Hdl, encounter, labsAt, hdl, 0, errorRate);
                Observe(ObsKind.Triglycerides, encounter, labsAt, tg, 0, errorRate);
                Observe(ObsKind.TotalCholesterol, encounter, labsAt, tc, 0, errorRate);
                _lastTc = tc;
                _lastHdl = hdl;
            }

            double? egfr = null;
            if (rng.Chance(t2dDx || htnDx || ckdDx || BpDrugs() > 0 || Prescribed(Drug.Metformin) ? 0.7 : _age >= 60 ? 0.4 : 0.2))
            {
                var creatinine = Math.Round(RiskEquations.CreatinineForEgfr(_egfr * (1 + _egfrTransient), _age, _female) * (1 + rng.Normal(0, 0.08)), 2);
                creatinine = Math.Max(0.3, creatinine);
                egfr = Math.Round(Math.Min(RiskEquations.CkdEpi2021(creatinine, _age, _female), 180));
                Observe(ObsKind.Creatinine, encounter, labsAt, creatinine, 0, errorRate);
                Observe(ObsKind.Egfr, encounter, labsAt, egfr.Value, 0, errorRate);
                _lastEgfr = egfr;
            }

            double? acr = null;
            if (rng.Chance(t2dDx ? 0.45 : ckdDx ? 0.5 : htnDx ? 0.1 : 0.02))
            {
                acr = Math.Round(Math.Min(Math.Exp(LogAcr + rng.Normal(0, 0.3)), 5000), 1);
                Observe(ObsKind.Uacr, encounter, labsAt, acr.Value, 0, errorRate);
                _lastAcr = acr;
            }

            int? phq9 = null;
            if (rng.Chance(checkUp ? 0.35 : 0.1))
            {
                phq9 = (int)Math.Clamp(Math.Round(_depressed ? rng.Normal(14, 4) : rng.Exponential(3)), 0, 27);
                Patient.Surveys.Add(new SimSurvey(encounter, vitalsAt.AddMinutes(2), phq9.Value));
            }

            Diagnoses(at, encounter, hba1c, fpg, ldl, egfr, phq9);
            Treatments(at, encounter, sbp, askedSmoking);
        }

        private void Observe(ObsKind kind, int encounter, DateTimeOffset at, double value, double value2, double errorRate)
        {
            var error = InjectedError.None;
            if (rng.Chance(errorRate))
            {
                error = kind switch
                {
                    ObsKind.BloodPressure or ObsKind.Weight or ObsKind.HbA1c => InjectedError.DecimalSlip,
                    ObsKind.FastingGlucose or ObsKind.Ldl => InjectedError.UnitNotUcum,
                    ObsKind.Creatinine => rng.Chance(0.5) ? InjectedError.WrongDimension : InjectedError.MissingValue,
                    _ => InjectedError.None,
                };
            }

            Patient.Observations.Add(new SimObservation(kind, encounter, at, value, value2, error));
        }

        private void RecordHistory(DateTimeOffset at, int encounter)
        {
            foreach (var kind in _pendingHistory)
            {
                var yearsBefore = rng.Uniform(0.5, Math.Max(1, Math.Min(15, Patient.Truth.BaselineAge - 20)));
                Diagnose(kind, start.AddDays(-yearsBefore * 365.25), at, encounter);
            }

            foreach (var drug in _pendingHistoryDrugs)
            {
                var started = start.AddDays(-rng.Uniform(30, 5 * 365.25));
                Patient.Medications.Add(new SimMedication(drug, started, statement: true, encounter));
            }

            _pendingHistory.Clear();
            _pendingHistoryDrugs.Clear();
        }

        private void Diagnose(ConditionKind kind, DateTimeOffset onset, DateTimeOffset recorded, int encounter)
        {
            if (_diagnosed[(int)kind])
            {
                return;
            }

            _diagnosed[(int)kind] = true;
            Patient.Conditions.Add(new SimCondition(kind, onset, recorded, encounter));
        }

        private void Diagnoses(DateTimeOffset at, int encounter, double? hba1c, double? fpg, double? ldl, double? egfr, int? phq9)
        {
            if (_highBpVisits >= 2 && rng.Chance(0.8))
            {
                Diagnose(ConditionKind.Hypertension, at, at, encounter);
            }

            // ADA: HbA1c ≥ 6.5 % or fasting glucose ≥ 126 mg/dL, confirmed by a second result (or one HbA1c ≥ 7 %).
            var diabetic = hba1c >= 7.0 || (hba1c >= 6.5 && (_lastHbA1c >= 6.5 || fpg >= 126)) || (fpg >= 126 && _lastHbA1c >= 6.5);
            if (diabetic && rng.Chance(0.95))
            {
                Diagnose(ConditionKind.Type2Diabetes, at, at, encounter);
            }
            else if (!_diagnosed[(int)ConditionKind.Type2Diabetes] && (hba1c is >= 5.7 and < 6.5 || fpg is >= 100 and < 126) && rng.Chance(0.3))
            {
                Diagnose(ConditionKind.Prediabetes, at, at, encounter);
            }

            _lastHbA1c = hba1c ?? _lastHbA1c;
            if (ldl >= 160 && rng.Chance(0.5))
            {
                Diagnose(ConditionKind.Hyperlipidaemia, at, at, encounter);
            }

            // KDIGO: eGFR < 60 for more than three months.
            if (egfr < 60)
            {
                _firstLowEgfr ??= at;
                if (Years(_firstLowEgfr.Value, at) >= 0.25 && rng.Chance(0.8))
                {
                    Diagnose(StageOf(egfr.Value), at, at, encounter);
                }
            }
            else if (egfr is not null)
            {
                _firstLowEgfr = null;
            }

            if (Bmi >= 30 && rng.Chance(0.25))
            {
                Diagnose(ConditionKind.Obesity, at, at, encounter);
            }

            if (phq9 >= 10 && rng.Chance(0.6))
            {
                Diagnose(ConditionKind.Depression, at, at, encounter);
            }

            if (_af && !_diagnosed[(int)ConditionKind.AtrialFibrillation] && rng.Chance(0.5))
            {
                Diagnose(ConditionKind.AtrialFibrillation, at, at, encounter);
            }

        }

        private static ConditionKind StageOf(double egfr) => egfr < 15 ? ConditionKind.CkdStage5 : egfr < 30 ? ConditionKind.CkdStage4 : ConditionKind.CkdStage3;

        private void Treatments(DateTimeOffset at, int encounter, double? sbp, bool askedSmoking)
        {
            var t2dDx = _diagnosed[(int)ConditionKind.Type2Diabetes];
            var ckdDx = _diagnosed[(int)ConditionKind.CkdStage3] || _diagnosed[(int)ConditionKind.CkdStage4] || _diagnosed[(int)ConditionKind.CkdStage5];
            var ascvdDx = _diagnosed[(int)ConditionKind.MyocardialInfarction] || _diagnosed[(int)ConditionKind.Stroke];
            var egfr = _lastEgfr ?? 90;

            // Statins (ACC/AHA 2018 cholesterol guideline benefit groups), with therapeutic inertia.
            if (!PrescribedStatin())
            {
                var high = ascvdDx || Ldl * 38.67 >= 190;
                var pce = _lastTc is { } tc && _lastHdl is { } hdl && _age is >= 40 and <= 75
                    ? RiskEquations.PooledCohort10Year(_female, _black, _age, tc, hdl, sbp ?? Sbp, PrescribedBpDrugs() > 0, _smoking == 2, t2dDx)
                    : 0;
                var moderate = (t2dDx && _age is >= 40 and <= 75) || pce >= 0.075;
                if ((high || moderate) && rng.Chance(0.35))
                {
                    Prescribe(high ? (rng.Chance(0.8) ? Drug.Atorvastatin40 : Drug.Rosuvastatin20) : Drug.Atorvastatin20, at, encounter);
                }
            }
            else if (ascvdDx && Prescribed(Drug.Atorvastatin20) && rng.Chance(0.3))
            {
                Stop(Drug.Atorvastatin20, at);
                Prescribe(Drug.Atorvastatin40, at, encounter);
            }

            // Blood pressure (ACC/AHA 2017): a drug added while above target, never ACE inhibitor with ARB.
            var target = t2dDx || ckdDx ? 130 : 140;
            if (_diagnosed[(int)ConditionKind.Hypertension] && sbp >= target && PrescribedBpDrugs() < 3 && rng.Chance(0.45))
            {
                var drug = NextAntihypertensive(t2dDx || ckdDx || _lastAcr >= 30);
                if (drug is { } d && (d is not (Drug.Lisinopril or Drug.Losartan) || egfr >= 30))
                {
                    Prescribe(d, at, encounter);
                }
            }

            // Metformin: first line in type 2 diabetes (ADA); contraindicated below eGFR 30, so stopped there.
            if (Prescribed(Drug.Metformin) && egfr < 30 && rng.Chance(0.8))
            {
                Stop(Drug.Metformin, at);
            }
            else if (t2dDx && !Prescribed(Drug.Metformin) && egfr >= 30 && rng.Chance(FirstSeen(ConditionKind.Type2Diabetes, at) ? 0.7 : 0.25))
            {
                Prescribe(Drug.Metformin, at, encounter);
            }

            if (_diagnosed[(int)ConditionKind.Prediabetes] && !t2dDx)
            {
                if (!Prescribed(Drug.Metformin) && Bmi >= 35 && _age < 60 && egfr >= 45 && rng.Chance(0.05))
                {
                    Prescribe(Drug.Metformin, at, encounter);
                }

                if (!_referred && rng.Chance(0.25))
                {
                    _referred = true;
                    var begins = at.AddDays(14 + rng.Next(45));
                    Patient.Procedures.Add(new SimProcedure(ProcedureKind.LifestyleReferral, encounter, at, begins));
                    if (rng.Chance(0.5))
                    {
                        // DPP: about 7 % weight loss at one year, regained over the following years.
                        _programmeUntil = begins.AddYears(1);
                        _lifestyleLoss += 0.06 * _bmi;
                        Patient.Procedures.Add(new SimProcedure(ProcedureKind.LifestyleProgramme, encounter, begins, _programmeUntil.Value));
                    }
                }
            }

            // SGLT2 inhibitors: type 2 diabetes with ASCVD, CKD or heart failure after EMPA-REG (2016); CKD with
            // albuminuria after DAPA-CKD (2020). Not started below eGFR 20.
            if (!Prescribed(Drug.Empagliflozin) && egfr >= 20)
            {
                var cardiorenal = at >= SglT2Cardiorenal && t2dDx && (ascvdDx || ckdDx || _diagnosed[(int)ConditionKind.HeartFailure]) && egfr >= 30;
                var renal = at >= SglT2Ckd && ckdDx && _lastAcr >= 30 && egfr >= 25;
                if ((cardiorenal && rng.Chance(0.2)) || (renal && rng.Chance(0.15)))
                {
                    Prescribe(Drug.Empagliflozin, at, encounter);
                }
            }

            if (_diagnosed[(int)ConditionKind.AtrialFibrillation] && !Prescribed(Drug.Apixaban) && ChadsVasc() >= 2 && rng.Chance(0.6))
            {
                Stop(Drug.Aspirin, at);
                Prescribe(Drug.Apixaban, at, encounter);
            }
            else if (ascvdDx && !Prescribed(Drug.Aspirin) && !Prescribed(Drug.Apixaban) && rng.Chance(0.3))
            {
                Prescribe(Drug.Aspirin, at, encounter);
            }

            if (askedSmoking && _smoking == 2 && rng.Chance(0.4))
            {
                _counselledUntil = at.AddYears(1);
                Patient.Procedures.Add(new SimProcedure(ProcedureKind.SmokingCessationAdvice, encounter, at.AddMinutes(10), at.AddMinutes(15)));
            }
        }

        private bool FirstSeen(ConditionKind kind, DateTimeOffset at) =>
            Patient.Conditions.Exists(c => c.Kind == kind && c.Onset == at);

        private int ChadsVasc()
        {
            var score = (_diagnosed[(int)ConditionKind.HeartFailure] ? 1 : 0) + (_diagnosed[(int)ConditionKind.Hypertension] ? 1 : 0)
                + (_age >= 75 ? 2 : _age >= 65 ? 1 : 0) + (_diagnosed[(int)ConditionKind.Type2Diabetes] ? 1 : 0)
                + (_diagnosed[(int)ConditionKind.Stroke] ? 2 : 0) + (_diagnosed[(int)ConditionKind.MyocardialInfarction] ? 1 : 0) + (_female ? 1 : 0);
            return score;
        }

        private Drug FirstAntihypertensive() =>
            _t2d || _egfr < 60 ? (rng.Chance(0.7) ? Drug.Lisinopril : Drug.Losartan)
            : (Drug)((int)Drug.Lisinopril + rng.Choose([0.35, 0.1, 0.3, 0.25]));

        private Drug? NextAntihypertensive(bool raasFirst)
        {
            if (!OnRaasPrescribed() && (raasFirst || PrescribedBpDrugs() == 0))
            {
                return raasFirst ? (rng.Chance(0.7) ? Drug.Lisinopril : Drug.Losartan) : FirstAntihypertensive();
            }

            foreach (var drug in (ReadOnlySpan<Drug>)[Drug.Lisinopril, Drug.Hydrochlorothiazide, Drug.Amlodipine])
            {
                if (!Prescribed(drug) && !(drug == Drug.Lisinopril && OnRaasPrescribed()))
                {
                    return drug;
                }
            }

            return null;
        }

        private int PrescribedBpDrugs()
        {
            var n = 0;
            foreach (var drug in (ReadOnlySpan<Drug>)[Drug.Lisinopril, Drug.Losartan, Drug.Hydrochlorothiazide, Drug.Amlodipine])
            {
                n += Prescribed(drug) ? 1 : 0;
            }

            return n;
        }

        private void Prescribe(Drug drug, DateTimeOffset at, int encounter)
        {
            if (!Prescribed(drug))
            {
                Patient.Medications.Add(new SimMedication(drug, at, statement: false, encounter));
            }
        }

        private void Stop(Drug drug, DateTimeOffset at)
        {
            foreach (var medication in Patient.Medications)
            {
                if (medication.Drug == drug && medication.End is null)
                {
                    medication.End = at;
                }
            }
        }
    }
}
