namespace HealthRec.Fhir.Synthetic;

/// <summary>What a simulated EHR recorded of one synthetic patient, before it is written as FHIR.</summary>
internal sealed class SyntheticPatient
{
    public required int Number { get; init; }

    public required Guid Id { get; init; }

    public required Sex Sex { get; init; }

    public required Race Race { get; init; }

    public required bool Hispanic { get; init; }

    public required DateOnly BirthDate { get; init; }

    public required string Given { get; init; }

    public required string Family { get; init; }

    public required Site Site { get; init; }

    public DateTimeOffset? DeceasedAt { get; set; }

    public List<SimEncounter> Encounters { get; } = [];

    public List<SimObservation> Observations { get; } = [];

    public List<SimCondition> Conditions { get; } = [];

    public List<SimMedication> Medications { get; } = [];

    public List<SimProcedure> Procedures { get; } = [];

    public List<SimSurvey> Surveys { get; } = [];

    /// <summary>What the simulation knows and the record may not show (for tests and the model's documentation).</summary>
    public SimTruth Truth { get; } = new();
}

public enum Race
{
    White,
    Black,
    Asian,
    AmericanIndian,
    Other,
}

/// <summary>A care site: its name, time zone and the units its laboratory and scales report in.</summary>
internal sealed record Site(int Number, string Name, TimeSpan Offset, bool SiLabs, bool IfccHbA1c, bool ImperialBody)
{
    public static readonly Site[] All =
    [
        new(0, "Riverside Family Practice", TimeSpan.FromHours(-5), SiLabs: false, IfccHbA1c: false, ImperialBody: false),
        new(1, "Lakeside Community Clinic", TimeSpan.FromHours(-6), SiLabs: false, IfccHbA1c: false, ImperialBody: true),
        new(2, "Northgate Health Centre", TimeSpan.Zero, SiLabs: true, IfccHbA1c: true, ImperialBody: false),
        new(3, "Harbour Medical Group", TimeSpan.FromHours(1), SiLabs: false, IfccHbA1c: true, ImperialBody: false),
    ];

    /// <summary>Shares of patients by site.</summary>
    public static readonly double[] Weights = [0.40, 0.25, 0.20, 0.15];
}

internal enum EncounterKind
{
    CheckUp,
    FollowUp,
    Admission,
}

internal sealed record SimEncounter(EncounterKind Kind, DateTimeOffset Start, DateTimeOffset End);

internal enum ObsKind
{
    BloodPressure,
    Weight,
    Height,
    Bmi,
    HeartRate,
    Smoking,
    HbA1c,
    FastingGlucose,
    Ldl,
    Hdl,
    TotalCholesterol,
    Triglycerides,
    Creatinine,
    Egfr,
    Uacr,
}

/// <summary>A data-entry error the generator puts in on purpose; ingestion must report each one.</summary>
public enum InjectedError
{
    None,

    /// <summary>A decimal point slipped (SBP 1320, HbA1c 64 %, weight 812 kg): an implausible value.</summary>
    DecimalSlip,

    /// <summary>A unit typed as free text with no UCUM code ("mg per dL"): an unknown unit.</summary>
    UnitNotUcum,

    /// <summary>A unit of the wrong dimension (creatinine in "mg"): an unconvertible unit.</summary>
    WrongDimension,

    /// <summary>A quantity with its unit but no number: a missing value.</summary>
    MissingValue,
}

/// <summary>A measurement in canonical units (mmHg, kg, cm, kg/m², /min, %, mg/dL, mg/g, mL/min/1.73 m²).</summary>
internal readonly record struct SimObservation(ObsKind Kind, int Encounter, DateTimeOffset At, double Value, double Value2, InjectedError Error);

internal enum ConditionKind
{
    Prediabetes,
    Type2Diabetes,
    Hypertension,
    Hyperlipidaemia,
    CkdStage3,
    CkdStage4,
    CkdStage5,
    MyocardialInfarction,
    Stroke,
    HeartFailure,
    AtrialFibrillation,
    Obesity,
    Depression,
}

/// <summary>A problem-list entry; <see cref="Encounter"/> is -1 for history recorded before the record began.</summary>
internal sealed record SimCondition(ConditionKind Kind, DateTimeOffset Onset, DateTimeOffset Recorded, int Encounter)
{
    public DateTimeOffset? Abatement { get; set; }
}

internal enum Drug
{
    Metformin,
    Empagliflozin,
    Atorvastatin20,
    Atorvastatin40,
    Rosuvastatin20,
    Lisinopril,
    Losartan,
    Hydrochlorothiazide,
    Amlodipine,
    Apixaban,
    Aspirin,
}

/// <summary>
/// A medicine: history taken at the first visit is a MedicationStatement; a prescription is a MedicationRequest.
/// </summary>
internal sealed class SimMedication(Drug drug, DateTimeOffset start, bool statement, int encounter)
{
    public Drug Drug { get; } = drug;

    public DateTimeOffset Start { get; } = start;

    public bool Statement { get; } = statement;

    public int Encounter { get; } = encounter;

    public DateTimeOffset? End { get; set; }
}

internal enum ProcedureKind
{
    /// <summary>A referral to an intensive lifestyle programme (ServiceRequest).</summary>
    LifestyleReferral,

    /// <summary>The programme attended (Procedure with its period).</summary>
    LifestyleProgramme,

    /// <summary>Brief smoking-cessation advice (Procedure).</summary>
    SmokingCessationAdvice,
}

internal readonly record struct SimProcedure(ProcedureKind Kind, int Encounter, DateTimeOffset Start, DateTimeOffset End);

/// <summary>A PHQ-9 depression screen (QuestionnaireResponse with its total score).</summary>
internal readonly record struct SimSurvey(int Encounter, DateTimeOffset At, int Total);

/// <summary>The simulation's ground truth for one patient.</summary>
internal sealed class SimTruth
{
    public double BaselineAge { get; set; }

    public bool DiabetesAtBaseline { get; set; }

    public bool AscvdAtBaseline { get; set; }

    public DateTimeOffset? DiabetesOnset { get; set; }

    public DateTimeOffset? FirstAscvdEvent { get; set; }

    public DateTimeOffset? CkdOnset { get; set; }

    /// <summary>
    /// The yearly hazards in the first month: an oracle's risk scores at the start, which no model of the record can
    /// beat (null when the outcome was already present).
    /// </summary>
    public double? DiabetesHazard { get; set; }

    public double? AscvdHazard { get; set; }

    public bool EverSmoker { get; set; }

    /// <summary>Smoking when the record begins (PREVENT, which drives the cardiovascular hazards, counts current smoking only).</summary>
    public bool SmokerAtBaseline { get; set; }

    public double BaselineBmi { get; set; }

    public double BaselineSbp { get; set; }

    public double BaselineLdl { get; set; }
}
