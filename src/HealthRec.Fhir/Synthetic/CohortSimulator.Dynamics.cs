namespace HealthRec.Fhir.Synthetic;

/// <summary>A patient's months: visit rates, risk factors under treatment, events (acute, readmissions) and stopped drugs.</summary>
internal sealed partial class CohortSimulator
{
    private sealed partial class State
    {
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
    }
}
