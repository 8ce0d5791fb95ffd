
namespace HealthRec.Fhir.Synthetic;

/// <summary>A visit: what is measured, recorded and diagnosed.</summary>
internal sealed partial class CohortSimulator
{
    private sealed partial class State
    {
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
    }
}
