
namespace HealthRec.Fhir.Synthetic;

/// <summary>A visit's treatment decisions: antihypertensives, statins, diabetes and kidney drugs, anticoagulation.</summary>
internal sealed partial class CohortSimulator
{
    private sealed partial class State
    {
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
